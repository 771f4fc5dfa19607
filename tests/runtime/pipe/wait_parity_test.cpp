// CPython's Lib/test/_test_multiprocessing.py, TestWait, written anew for
// proctor::wait. Each test is named after the case it follows.
#include "proctor/wait.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "proctor/process.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::pipe_reader;
using proctor::pipe_writer;
using proctor::process;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// TestWait._child_test_wait: sends its pid and a number a few times.
void parity_sends_numbers(pipe_writer<std::string> w, int slow_ms) {
  for (int i = 0; i < 10; ++i) {
    if (slow_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{slow_ms});
    w.send(std::to_string(::getpid()) + " " + std::to_string(i));
  }
  w.close();
}
PROCTOR_TASK(parity_sends_numbers);

void parity_naps(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
}
PROCTOR_TASK(parity_naps);

/// Reads every reader to its end through wait(); the messages by sender.
std::map<std::string, int> drain(std::vector<pipe_reader<std::string>> readers) {
  std::map<std::string, int> per_sender;
  while (!readers.empty()) {
    std::vector<proctor::waitable> objects(readers.begin(), readers.end());
    auto ready = proctor::wait(objects, limit);
    EXPECT_FALSE(ready.empty());
    for (auto i = ready.rbegin(); i != ready.rend(); ++i) {
      try {
        auto msg = readers[*i].recv(limit);
        ++per_sender[msg.substr(0, msg.find(' '))];
      } catch (const proctor::end_of_pipe&) {
        readers.erase(readers.begin() + static_cast<std::ptrdiff_t>(*i));
      }
    }
  }
  return per_sender;
}

void check_wait(int slow_ms) {
  std::vector<pipe_reader<std::string>> readers;
  std::vector<std::unique_ptr<process>> procs;
  for (int i = 0; i < 4; ++i) {
    auto [r, w] = proctor::pipe<std::string>(test_runtime(), proctor::one_way);
    procs.push_back(std::make_unique<process>(test_runtime(), parity_sends_numbers, w, slow_ms));
    procs.back()->start();
    readers.push_back(r);
  }
  auto per_sender = drain(readers);
  ASSERT_EQ(per_sender.size(), 4u);
  for (auto& [sender, count] : per_sender)
    EXPECT_EQ(count, 10) << sender;
  for (auto& p : procs)
    ASSERT_TRUE(p->join(limit));
}

} // namespace

TEST(python_parity, Wait_wait) {
  check_wait(0);
}

TEST(python_parity, Wait_wait_slow) {
  check_wait(5);
}

// test_wait_timeout: nothing ready: an empty result once the time is up.
TEST(python_parity, Wait_wait_timeout) {
  auto [r, w] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  EXPECT_TRUE(proctor::wait({r}, 50ms).empty());
  w.send(1);
  EXPECT_EQ(proctor::wait({r}, limit), std::vector<std::size_t>{0});
  EXPECT_EQ(r.recv(), 1);
  // A message already taken in (by poll) counts as ready at once.
  w.send(2);
  ASSERT_TRUE(r.poll(limit));
  EXPECT_EQ(proctor::wait({r}, 0ms), std::vector<std::size_t>{0});
}

// test_wait_integer: process sentinels and raw descriptors, mixed with pipes.
TEST(python_parity, Wait_wait_integer) {
  process a{test_runtime(), parity_naps, 10};
  process b{test_runtime(), parity_naps, 100000};
  a.start();
  b.start();
  auto [r, w] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  EXPECT_EQ(proctor::wait({a, b, r}, limit), std::vector<std::size_t>{0});
  w.send(7);
  EXPECT_EQ(proctor::wait({b, r}, limit), std::vector<std::size_t>{1});
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_TRUE(proctor::wait({proctor::waitable::descriptor(fds[0]), b}, 10ms).empty());
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  EXPECT_EQ(proctor::wait({proctor::waitable::descriptor(fds[0]), b}, limit),
            std::vector<std::size_t>{0});
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(r.recv(limit), 7);
  b.kill();
  EXPECT_EQ(proctor::wait({r, b}, limit), std::vector<std::size_t>{1});
  w.send(8);
  ASSERT_TRUE(r.poll(limit));
  EXPECT_EQ(proctor::wait({r, b}, limit), (std::vector<std::size_t>{0})); // buffered: at once
  EXPECT_EQ(proctor::wait({a, b}, limit), (std::vector<std::size_t>{0, 1}));
  ASSERT_TRUE(a.join(limit));
  ASSERT_TRUE(b.join(limit));
}

// test_neg_timeout: a negative timeout is no wait at all.
TEST(python_parity, Wait_neg_timeout) {
  auto [r, w] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  EXPECT_TRUE(proctor::wait({r}, -1000ms).empty());
}

// Waiting on a closed end fails clearly (Python raises OSError).
TEST(python_parity, Wait_closed_end) {
  auto [r, w] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  r.close();
  EXPECT_EQ(proctor::testing::error_of([&, &r = r] { proctor::wait({r}, 10ms); }),
            proctor::errc::closed);
}
