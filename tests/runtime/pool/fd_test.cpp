#include "proctor/fd.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "proctor/pool.hpp"
#include "proctor/process.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 60s;

// Writes `text` into the descriptor it was handed; returns its pid.
int write_into(proctor::fd out, std::string text) {
  if (::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("write failed");
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(write_into);

std::string read_all(int fd) {
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  return text;
}

struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
  pipe_pair() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_end = fds[0];
      write_end = fds[1];
    }
  }
};

} // namespace

TEST(fd, a_pool_task_gets_the_descriptor_itself) {
  proctor::pool p{test_runtime(), {.processes = 1}};
  pipe_pair pp;
  ASSERT_GE(pp.read_end, 0);
  proctor::fd out{pp.write_end};
  int pid = p.apply_async(write_into, out, std::string{"through SCM_RIGHTS"}).get(limit);
  EXPECT_NE(pid, ::getpid());
  // Moved: this copy is closed, so the reader sees the end once the worker's is.
  EXPECT_EQ(error_of([&] { out.get(); }), proctor::errc::moved);
  EXPECT_EQ(read_all(pp.read_end), "through SCM_RIGHTS");
  ::close(pp.read_end);
}

TEST(fd, a_process_target_gets_the_descriptor_and_release_gives_it_up) {
  pipe_pair pp;
  ASSERT_GE(pp.read_end, 0);
  {
    proctor::process writer{test_runtime(), write_into, proctor::fd{pp.write_end},
                            std::string{"hello"}};
    writer.start();
    ASSERT_TRUE(writer.join(limit)); // its exit code is its pid's low byte

  }
  EXPECT_EQ(read_all(pp.read_end), "hello");
  pipe_pair other;
  proctor::fd mine{other.write_end};
  int raw = mine.release();
  EXPECT_EQ(raw, other.write_end);
  EXPECT_THROW(mine.get(), proctor::error);
  ::close(raw);
  ::close(other.read_end);
  ::close(pp.read_end);
}
