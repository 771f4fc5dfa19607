// A master's end, by SIGKILL or by returning from main, and what a worker
// inherits from the master at start.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "proctor/process.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::process;
using proctor::testing::subprocess;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

bool all_gone_within(const std::vector<pid_t>& pids, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool gone = true;
    for (auto pid : pids)
      gone = gone && proctor::testing::process_gone(pid);
    if (gone)
      return true;
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
}

void writes_relative_file(std::string name) {
  std::ofstream{name} << "here\n";
}
PROCTOR_TASK(writes_relative_file);

void throws_with_message(std::string what) {
  throw std::invalid_argument(what);
}
PROCTOR_TASK(throws_with_message);

/// Points fd 2 at `path` for its lifetime.
class stderr_to_file {
public:
  explicit stderr_to_file(const std::string& path) {
    saved_ = ::dup(2);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~stderr_to_file() {
    ::dup2(saved_, 2);
    ::close(saved_);
  }

private:
  int saved_;
};

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

} // namespace

TEST(lifecycle, children_die_when_the_master_is_killed) {
  subprocess master{proctor::testing::helper_argv("orphans")};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  // Two processes, one actor host and the fork server.
  auto children = proctor::testing::children_of(master.pid());
  ASSERT_EQ(children.size(), 4u);
  ::kill(master.pid(), SIGKILL);
  ASSERT_EQ(master.wait(limit), -SIGKILL);
  // The design bound is one second; the test allows for a loaded machine.
  EXPECT_TRUE(all_gone_within(children, 20s));
}

TEST(lifecycle, runtime_end_terminates_daemons_and_joins_the_rest) {
  auto dir = proctor::testing::make_temp_dir();
  subprocess master{proctor::testing::helper_argv("daemon", {dir})};
  EXPECT_EQ(master.wait(limit), 0) << master.err();
  EXPECT_TRUE(std::filesystem::exists(dir + "/terminated"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/joined"));
  std::filesystem::remove_all(dir);
}

TEST(lifecycle, an_escaping_exception_is_reported_on_the_childs_stderr) {
  auto dir = proctor::testing::make_temp_dir();
  process p{test_runtime(), throws_with_message, std::string{"bad input 42"}};
  {
    stderr_to_file redirect{dir + "/stderr"};
    p.start();
  }
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 1);
  auto text = read_all(dir + "/stderr");
  EXPECT_NE(text.find("std::invalid_argument"), std::string::npos) << text;
  EXPECT_NE(text.find("bad input 42"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

TEST(lifecycle, a_worker_starts_in_the_masters_current_directory) {
  auto dir = proctor::testing::make_temp_dir();
  auto before = std::filesystem::current_path();
  process p{test_runtime(), writes_relative_file, std::string{"probe"}};
  std::filesystem::current_path(dir);
  p.start();
  std::filesystem::current_path(before);
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/probe"));
  std::filesystem::remove_all(dir);
}

TEST(lifecycle, a_killed_fork_server_is_replaced) {
  auto& rt = test_runtime();
  process warm{rt, writes_relative_file, std::string{"/dev/null"}};
  warm.start();
  ASSERT_TRUE(warm.join(limit));
  pid_t server = -1;
  for (auto pid : proctor::testing::children_of(::getpid())) {
    std::ifstream environ{"/proc/" + std::to_string(pid) + "/environ"};
    std::string entry;
    while (std::getline(environ, entry, '\0'))
      if (entry == "PROCTOR_ROLE=forkserver")
        server = pid;
  }
  ASSERT_GT(server, 0);
  ::kill(server, SIGKILL);
  ASSERT_TRUE(all_gone_within({server}, 20s));
  process after{rt, writes_relative_file, std::string{"/dev/null"}};
  after.start();
  ASSERT_TRUE(after.join(limit));
  EXPECT_EQ(after.exitcode(), 0);
}

TEST(lifecycle, the_spawn_start_method_works_too) {
  auto dir = proctor::testing::make_temp_dir();
  subprocess master{proctor::testing::helper_argv(
    "daemon", {dir, "--proctor.start-method=spawn"})};
  EXPECT_EQ(master.wait(limit), 0) << master.err();
  EXPECT_TRUE(std::filesystem::exists(dir + "/terminated"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/joined"));
  std::filesystem::remove_all(dir);
}
