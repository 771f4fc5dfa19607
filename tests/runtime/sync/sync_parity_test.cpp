// CPython's Lib/test/_test_multiprocessing.py, _TestLock, _TestSemaphore,
// _TestCondition and _TestEvent, written anew for proctor. Each test is named after the case it follows. Parties
// are processes and threads of this process mixed, as CPython's are.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "proctor/condition.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "proctor/sync.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// _TestCondition.f: waits on `cond`, telling `sleeping` first and `woken` after.
void parity_cond_waiter(proctor::condition cond, proctor::semaphore sleeping,
                        proctor::semaphore woken, int timeout_ms) {
  cond.acquire();
  sleeping.release();
  if (timeout_ms < 0)
    cond.wait();
  else
    cond.wait(std::chrono::milliseconds{timeout_ms});
  woken.release();
  cond.release();
}
PROCTOR_TASK(parity_cond_waiter);

// _TestCondition._test_waitfor_f: waits for the shared state to reach 4.
void parity_waits_for_four(proctor::condition cond, proctor::queue<int> state,
                           proctor::queue<bool> result) {
  std::lock_guard<proctor::condition> guard{cond};
  int seen = 0;
  bool ok = cond.wait_for(
    [&] {
      while (!state.empty())
        seen = state.get(limit);
      return seen == 4;
    },
    limit);
  result.put(ok && seen == 4);
}
PROCTOR_TASK(parity_waits_for_four);

} // namespace

// -- locks and semaphores ---------------------------------------------------------

TEST(python_parity, Lock_lock) {
  proctor::lock lock{test_runtime()};
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.locked());
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_EQ(error_of([&] { lock.release(); }), errc::invalid_state); // ValueError
}

TEST(python_parity, Lock_lock_context) {
  proctor::lock lock{test_runtime()};
  {
    std::lock_guard<proctor::lock> guard{lock};
    EXPECT_TRUE(lock.locked());
  }
  EXPECT_FALSE(lock.locked());
}

TEST(python_parity, Lock_rlock) {
  proctor::rlock lock{test_runtime()};
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.locked());
  lock.release();
  lock.release();
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_EQ(error_of([&] { lock.release(); }), errc::invalid_state); // AssertionError
}

TEST(python_parity, Semaphore_semaphore) {
  proctor::semaphore sem{test_runtime(), 2};
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 1);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 0);
  EXPECT_FALSE(sem.acquire(false));
  sem.release();
  EXPECT_EQ(sem.get_value(), 1);
  sem.release();
  EXPECT_EQ(sem.get_value(), 2);
}

TEST(python_parity, Semaphore_bounded_semaphore) {
  proctor::bounded_semaphore sem{test_runtime(), 2};
  sem.acquire();
  sem.acquire();
  sem.release();
  sem.release();
  EXPECT_EQ(error_of([&] { sem.release(); }), errc::invalid_state); // ValueError
}

TEST(python_parity, Semaphore_timeout) {
  proctor::semaphore sem{test_runtime(), 0};
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false, std::nullopt));
  EXPECT_FALSE(sem.acquire(true, 0ms));
  EXPECT_FALSE(sem.acquire(true, 50ms));
}

// -- condition ----------------------------------------------------------------------

// test_notify: one waiter in a process, one in a thread; each notify wakes one.
TEST(python_parity, Condition_notify) {
  proctor::condition cond{test_runtime()};
  proctor::semaphore sleeping{test_runtime(), 0};
  proctor::semaphore woken{test_runtime(), 0};
  process p{test_runtime(), parity_cond_waiter, cond, sleeping, woken, -1};
  p.start();
  std::thread t{[=] { parity_cond_waiter(cond, sleeping, woken, -1); }};
  ASSERT_TRUE(sleeping.acquire(true, limit));
  ASSERT_TRUE(sleeping.acquire(true, limit));
  EXPECT_FALSE(woken.acquire(true, 20ms)); // nobody woken yet
  cond.acquire();
  cond.notify();
  cond.release();
  EXPECT_TRUE(woken.acquire(true, limit));
  EXPECT_FALSE(woken.acquire(true, 20ms)); // only one
  cond.acquire();
  cond.notify();
  cond.release();
  EXPECT_TRUE(woken.acquire(true, limit));
  t.join();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
}

// test_notify_all: three that time out, then six woken by one notify_all.
TEST(python_parity, Condition_notify_all) {
  proctor::condition cond{test_runtime()};
  proctor::semaphore sleeping{test_runtime(), 0};
  proctor::semaphore woken{test_runtime(), 0};
  std::vector<std::unique_ptr<process>> procs;
  std::vector<std::thread> threads;
  auto start = [&](int timeout_ms) {
    procs.push_back(std::make_unique<process>(test_runtime(), parity_cond_waiter, cond, sleeping,
                                              woken, timeout_ms));
    procs.back()->start();
    threads.emplace_back([=] { parity_cond_waiter(cond, sleeping, woken, timeout_ms); });
  };
  for (int i = 0; i < 3; ++i)
    start(50); // these time out
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(sleeping.acquire(true, limit));
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(woken.acquire(true, limit));
  for (int i = 0; i < 3; ++i)
    start(-1); // these wait for the notify
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(sleeping.acquire(true, limit));
  EXPECT_FALSE(woken.acquire(true, 20ms));
  cond.acquire();
  cond.notify_all();
  cond.release();
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(woken.acquire(true, limit));
  for (auto& t : threads)
    t.join();
  for (auto& p : procs)
    ASSERT_TRUE(p->join(limit));
}

// test_notify_n: notify(n) wakes n, never more.
TEST(python_parity, Condition_notify_n) {
  proctor::condition cond{test_runtime()};
  proctor::semaphore sleeping{test_runtime(), 0};
  proctor::semaphore woken{test_runtime(), 0};
  std::vector<std::unique_ptr<process>> procs;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    procs.push_back(
      std::make_unique<process>(test_runtime(), parity_cond_waiter, cond, sleeping, woken, -1));
    procs.back()->start();
    threads.emplace_back([=] { parity_cond_waiter(cond, sleeping, woken, -1); });
  }
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(sleeping.acquire(true, limit));
  cond.acquire();
  cond.notify(2);
  cond.release();
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(woken.acquire(true, limit));
  EXPECT_FALSE(woken.acquire(true, 20ms));
  cond.acquire();
  cond.notify(100); // more than are waiting: wakes the other four
  cond.release();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(woken.acquire(true, limit));
  cond.acquire();
  cond.notify(0); // no-op
  cond.release();
  for (auto& t : threads)
    t.join();
  for (auto& p : procs)
    ASSERT_TRUE(p->join(limit));
}

// test_timeout: a wait nobody notifies returns false.
TEST(python_parity, Condition_timeout) {
  proctor::condition cond{test_runtime()};
  cond.acquire();
  EXPECT_FALSE(cond.wait(50ms));
  cond.release();
  // The lock is held again after the wait, and released once.
  EXPECT_EQ(error_of([&] { cond.release(); }), errc::invalid_state);
}

// test_waitfor: a child waits for a predicate on shared state to turn true.
TEST(python_parity, Condition_waitfor) {
  proctor::condition cond{test_runtime()};
  proctor::queue<int> state{test_runtime()};
  proctor::queue<bool> result{test_runtime()};
  process p{test_runtime(), parity_waits_for_four, cond, state, result};
  p.start();
  for (int i = 1; i <= 4; ++i) {
    std::this_thread::sleep_for(10ms);
    std::lock_guard<proctor::condition> guard{cond};
    state.put(i);
    cond.notify();
  }
  EXPECT_TRUE(result.get(limit));
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
}

// test_waitfor_timeout: a predicate that stays false times out.
TEST(python_parity, Condition_waitfor_timeout) {
  proctor::condition cond{test_runtime()};
  std::lock_guard<proctor::condition> guard{cond};
  int calls = 0;
  EXPECT_FALSE(cond.wait_for([&] { return ++calls > 1000; }, 100ms));
  EXPECT_GE(calls, 1);
}

// test_wait_result: wait() says whether it was notified.
TEST(python_parity, Condition_wait_result) {
  proctor::condition cond{test_runtime()};
  std::lock_guard<proctor::condition> guard{cond};
  EXPECT_FALSE(cond.wait(0ms));
  EXPECT_FALSE(cond.wait(10ms));
  std::thread notifier{[=]() mutable {
    std::lock_guard<proctor::condition> inner{cond};
    cond.notify();
  }};
  EXPECT_TRUE(cond.wait(limit));
  notifier.join();
}

// Waiting without the lock is an error (Python's RuntimeError), with a plain
// lock as with an rlock.
TEST(python_parity, Condition_wait_requires_the_lock) {
  proctor::condition cond{test_runtime()};
  EXPECT_EQ(error_of([&] { cond.wait(10ms); }), errc::invalid_state);
  proctor::condition on_lock{test_runtime(), proctor::lock{test_runtime()}};
  EXPECT_EQ(error_of([&] { on_lock.wait(10ms); }), errc::invalid_state);
  std::lock_guard<proctor::condition> guard{on_lock};
  EXPECT_FALSE(on_lock.wait(10ms));
}

// An rlock held three times is released entirely by wait() and held three
// times again after it.
TEST(python_parity, Condition_wait_restores_an_rlock_depth) {
  proctor::rlock lock{test_runtime()};
  proctor::condition cond{test_runtime(), lock};
  cond.acquire();
  cond.acquire();
  cond.acquire();
  std::thread other{[=]() mutable {
    // Only possible while the waiter has released all three levels.
    std::lock_guard<proctor::condition> guard{cond};
    cond.notify();
  }};
  EXPECT_TRUE(cond.wait(limit));
  other.join();
  cond.release();
  cond.release();
  cond.release();
  EXPECT_FALSE(lock.locked());
}

// -- event --------------------------------------------------------------------------

TEST(python_parity, Event_event) {
  proctor::event event{test_runtime()};
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(0ms));
  EXPECT_FALSE(event.wait(20ms));
  event.set();
  EXPECT_TRUE(event.is_set());
  EXPECT_TRUE(event.wait());
  EXPECT_TRUE(event.wait(0ms));
  event.clear();
  EXPECT_FALSE(event.is_set());
  std::thread setter{[=]() mutable { event.set(); }};
  EXPECT_TRUE(event.wait(limit));
  setter.join();
}
