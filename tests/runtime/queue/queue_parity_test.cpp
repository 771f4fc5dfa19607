// CPython's Lib/test/_test_multiprocessing.py, _TestQueue, written anew for
// proctor::queue. Each test is named after the case it follows.
#include "proctor/queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "proctor/message_type.hpp"
#include "proctor/process.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

using parity_queue = proctor::queue<int>;
PROCTOR_MESSAGE_TYPE(parity_queue);
using parity_joinable = proctor::joinable_queue<int>;
PROCTOR_MESSAGE_TYPE(parity_joinable);

namespace {

constexpr auto limit = 30s;

void puts_range(parity_queue q, int from, int to) {
  for (int i = from; i < to; ++i)
    q.put(i);
}
PROCTOR_TASK(puts_range);

// Takes every item and marks it done (_TestQueue._test_task_done).
void takes_and_finishes(parity_joinable q, int n) {
  for (int i = 0; i < n; ++i) {
    q.get(limit);
    q.task_done();
  }
}
PROCTOR_TASK(takes_and_finishes);

// Closes its copy of the queue, then reports through another queue that it
// can no longer use it.
void closes_its_copy(parity_queue q, parity_queue report) {
  q.put(1);
  q.close();
  q.join_thread();
  report.put(static_cast<int>(error_of([&] { q.put(2); })));
}
PROCTOR_TASK(closes_its_copy);

} // namespace

// test_put: a bounded queue fills, refuses without blocking, then drains.
TEST(python_parity, Queue_put) {
  parity_queue q{test_runtime(), 6};
  q.put(1);
  q.put(2, limit);
  q.put_nowait(3);
  q.put(4, 10ms);
  q.put(5);
  q.put(6, limit);
  EXPECT_EQ(q.qsize(), 6u);
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.empty());
  EXPECT_THROW(q.put_nowait(7), proctor::queue_full);
  EXPECT_THROW(q.put(7, 10ms), proctor::queue_full);
  for (int i = 1; i <= 6; ++i)
    EXPECT_EQ(q.get(limit), i);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
}

// test_get: items put by a child are taken in order by every form of get.
TEST(python_parity, Queue_get) {
  parity_queue q{test_runtime()};
  process child{test_runtime(), puts_range, q, 1, 5};
  child.start();
  ASSERT_TRUE(child.join(limit));
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(limit), 2);
  EXPECT_EQ(q.get_nowait(), 3);
  EXPECT_EQ(q.get(10s), 4);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
  EXPECT_THROW(q.get(10ms), proctor::queue_empty);
}

// test_fork: a child's items are all there once it has been joined, and
// Python's drain idiom takes every one.
TEST(python_parity, Queue_fork) {
  parity_queue q{test_runtime()};
  process child{test_runtime(), puts_range, q, 0, 10};
  child.start();
  ASSERT_TRUE(child.join(limit));
  std::vector<int> got;
  while (!q.empty())
    got.push_back(q.get(limit));
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
}

// test_qsize: the process's own puts count at once.
TEST(python_parity, Queue_qsize) {
  parity_queue q{test_runtime()};
  EXPECT_EQ(q.qsize(), 0u);
  q.put(1);
  EXPECT_EQ(q.qsize(), 1u);
  q.put(5);
  EXPECT_EQ(q.qsize(), 2u);
  q.get(limit);
  EXPECT_EQ(q.qsize(), 1u);
  q.get(limit);
  EXPECT_EQ(q.qsize(), 0u);
}

// test_task_done: workers mark every item done; join() returns after.
TEST(python_parity, Queue_task_done) {
  parity_joinable q{test_runtime()};
  std::vector<std::unique_ptr<process>> workers;
  for (int i = 0; i < 4; ++i) {
    workers.push_back(std::make_unique<process>(test_runtime(), takes_and_finishes, q, 5));
    workers.back()->start();
  }
  for (int i = 0; i < 20; ++i)
    q.put(i);
  EXPECT_TRUE(q.join(limit));
  for (auto& w : workers) {
    ASSERT_TRUE(w->join(limit));
    EXPECT_EQ(w->exitcode(), 0);
  }
  EXPECT_EQ(error_of([&] { q.task_done(); }), errc::invalid_state);
}

// test_timeout: a timed get on an empty queue raises Empty.
TEST(python_parity, Queue_timeout) {
  parity_queue q{test_runtime()};
  EXPECT_THROW(q.get(100ms), proctor::queue_empty);
}

// test_closed_queue_empty_exceptions: asking an unused closed queue whether
// it is empty does not fail.
TEST(python_parity, Queue_closed_queue_empty_exceptions) {
  parity_queue q{test_runtime()};
  q.close();
  q.join_thread();
  EXPECT_TRUE(q.empty());
}

// test_closed_queue_put_get_exceptions: after close(), put and get fail
// clearly (Python's ValueError "is closed"), for Queue and JoinableQueue.
TEST(python_parity, Queue_closed_queue_put_get_exceptions) {
  parity_queue q{test_runtime()};
  q.close();
  EXPECT_EQ(error_of([&] { q.put(1); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { q.get(10ms); }), errc::invalid_state);
  parity_joinable j{test_runtime()};
  j.close();
  EXPECT_EQ(error_of([&] { j.put(1); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { j.get(10ms); }), errc::invalid_state);
}

// close() in a child ends that child's use only: the parent's later put
// arrives (a close that ended the queue for everyone lost it silently).
TEST(python_parity, Queue_close_is_per_process) {
  parity_queue q{test_runtime()};
  parity_queue report{test_runtime()};
  process child{test_runtime(), closes_its_copy, q, report};
  child.start();
  ASSERT_TRUE(child.join(limit));
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(report.get(limit), static_cast<int>(errc::invalid_state));
  q.put(8);
  EXPECT_EQ(q.get(limit), 1);
  EXPECT_EQ(q.get(limit), 8);
}

// join_thread() requires close() first, as Python asserts.
TEST(python_parity, Queue_join_thread_needs_close) {
  parity_queue q{test_runtime()};
  EXPECT_EQ(error_of([&] { q.join_thread(); }), errc::invalid_state);
  q.put(1);
  q.close();
  q.join_thread();
}

// Python 3.13's shutdown(): puts are refused everywhere; gets drain what is
// there, then fail with ShutDown.
TEST(python_parity, Queue_shutdown) {
  parity_queue q{test_runtime()};
  q.put(1);
  q.put(2);
  q.shutdown();
  EXPECT_EQ(error_of([&] { q.put(3); }), errc::closed);
  EXPECT_EQ(q.get(limit), 1);
  EXPECT_EQ(q.get(limit), 2);
  EXPECT_EQ(error_of([&] { q.get(limit); }), errc::closed);
}

// shutdown(immediate=True): what is queued is dropped and join() returns.
TEST(python_parity, Queue_shutdown_immediate) {
  parity_joinable q{test_runtime()};
  q.put(1);
  q.put(2);
  q.shutdown(true);
  EXPECT_TRUE(q.join(limit));
  EXPECT_EQ(error_of([&] { q.get(limit); }), errc::closed);
  EXPECT_EQ(error_of([&] { q.put(3); }), errc::closed);
}

// A pipelined put that a shut-down queue refused is never silent: the
// caller learns it from join_thread().
TEST(python_parity, Queue_refused_put_reported_by_join_thread) {
  parity_queue q{test_runtime()};
  parity_queue other_handle = q; // copied before use: a client of its own
  other_handle.shutdown();
  // This handle does not know yet: put() pipelines, the queue refuses it.
  q.put(1);
  q.close();
  EXPECT_EQ(error_of([&] { q.join_thread(); }), errc::closed);
}
