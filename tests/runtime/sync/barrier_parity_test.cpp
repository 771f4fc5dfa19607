// CPython's Lib/test/_test_multiprocessing.py, _TestBarrier and
// TestSimpleQueue, written anew for proctor. Each test is named after the
// case it follows. Parties are processes and threads of this process mixed,
// as CPython's are.
#include "proctor/barrier.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// _TestBarrier.multipass: waits `passes` times, reporting each index.
void parity_barrier_party(proctor::barrier b, proctor::queue<int> out, int passes) {
  for (int i = 0; i < passes; ++i) {
    try {
      out.put(static_cast<int>(b.wait(limit)));
    } catch (const proctor::broken_barrier&) {
      out.put(-1);
    }
  }
}
PROCTOR_TASK(parity_barrier_party);

// The barrier's action: counts rounds in `rounds`.
void parity_barrier_action(proctor::queue<int> rounds) {
  rounds.put(1);
}
PROCTOR_TASK(parity_barrier_action);

void parity_failing_action() {
  throw std::runtime_error("the action failed");
}
PROCTOR_TASK(parity_failing_action);

/// Runs `n` parties, half in processes and half in threads, each calling
/// parity_barrier_party(b, out, passes); returns when all are done.
void run_parties(proctor::barrier b, proctor::queue<int> out, int n, int passes) {
  std::vector<std::unique_ptr<process>> procs;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      procs.push_back(std::make_unique<process>(test_runtime(), parity_barrier_party, b, out,
                                                passes));
      procs.back()->start();
    } else {
      threads.emplace_back([=] { parity_barrier_party(b, out, passes); });
    }
  }
  for (auto& t : threads)
    t.join();
  for (auto& p : procs) {
    ASSERT_TRUE(p->join(limit));
    EXPECT_EQ(p->exitcode(), 0);
  }
}

std::multiset<int> take(proctor::queue<int>& q, int n) {
  std::multiset<int> got;
  for (int i = 0; i < n; ++i)
    got.insert(q.get(limit));
  return got;
}

/// Waits (at most `limit`) until some party waits at `b`.
bool a_party_waits_at(proctor::barrier& b) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (b.n_waiting() == 0) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

} // namespace

// -- barrier ------------------------------------------------------------------------

// test_barrier: five parties pass twice.
TEST(python_parity, Barrier_barrier) {
  proctor::barrier b{test_runtime(), 5};
  proctor::queue<int> out{test_runtime()};
  run_parties(b, out, 5, 2);
  auto got = take(out, 10);
  EXPECT_EQ(got.count(-1), 0u);
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0u);
}

// test_wait_return: each round hands out every index from 0 to parties-1.
TEST(python_parity, Barrier_wait_return) {
  proctor::barrier b{test_runtime(), 4};
  proctor::queue<int> out{test_runtime()};
  run_parties(b, out, 4, 1);
  EXPECT_EQ(take(out, 4), (std::multiset<int>{0, 1, 2, 3}));
}

// test_action: the action runs once per round.
TEST(python_parity, Barrier_action) {
  proctor::queue<int> rounds{test_runtime()};
  proctor::barrier b{test_runtime(), 3, proctor::call(parity_barrier_action, rounds)};
  proctor::queue<int> out{test_runtime()};
  run_parties(b, out, 3, 2);
  EXPECT_EQ(take(out, 6).count(-1), 0u);
  EXPECT_EQ(rounds.get(limit), 1);
  EXPECT_EQ(rounds.get(limit), 1);
  EXPECT_THROW(rounds.get(20ms), proctor::queue_empty);
}

// An action that throws breaks the barrier; its party gets the exception.
TEST(python_parity, Barrier_failing_action) {
  proctor::barrier b{test_runtime(), 2, proctor::call(parity_failing_action)};
  std::thread other{[=]() mutable { EXPECT_THROW(b.wait(limit), proctor::broken_barrier); }};
  ASSERT_TRUE(a_party_waits_at(b));
  EXPECT_THROW(b.wait(limit), std::runtime_error);
  other.join();
  EXPECT_TRUE(b.broken());
}

// test_abort: abort() breaks the barrier for the waiting and the later.
TEST(python_parity, Barrier_abort) {
  proctor::barrier b{test_runtime(), 3};
  proctor::queue<int> out{test_runtime()};
  process p{test_runtime(), parity_barrier_party, b, out, 1};
  p.start();
  ASSERT_TRUE(a_party_waits_at(b));
  b.abort();
  EXPECT_EQ(out.get(limit), -1);
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(b.wait(limit), proctor::broken_barrier);
  ASSERT_TRUE(p.join(limit));
}

// test_reset: the waiting get broken_barrier; the barrier then works again.
TEST(python_parity, Barrier_reset) {
  proctor::barrier b{test_runtime(), 2};
  proctor::queue<int> out{test_runtime()};
  process p{test_runtime(), parity_barrier_party, b, out, 1};
  p.start();
  ASSERT_TRUE(a_party_waits_at(b));
  b.reset();
  EXPECT_EQ(out.get(limit), -1);
  EXPECT_FALSE(b.broken());
  ASSERT_TRUE(p.join(limit));
  run_parties(b, out, 2, 1);
  EXPECT_EQ(take(out, 2), (std::multiset<int>{0, 1}));
}

// test_abort_and_reset: an aborted barrier is whole again after reset().
TEST(python_parity, Barrier_abort_and_reset) {
  proctor::barrier b{test_runtime(), 2};
  b.abort();
  EXPECT_THROW(b.wait(limit), proctor::broken_barrier);
  b.reset();
  EXPECT_FALSE(b.broken());
  proctor::queue<int> out{test_runtime()};
  run_parties(b, out, 2, 1);
  EXPECT_EQ(take(out, 2), (std::multiset<int>{0, 1}));
}

// test_timeout: one party's timeout breaks the barrier for all.
TEST(python_parity, Barrier_timeout) {
  proctor::barrier b{test_runtime(), 3};
  proctor::queue<int> out{test_runtime()};
  process p{test_runtime(), parity_barrier_party, b, out, 1};
  p.start();
  EXPECT_THROW(b.wait(50ms), proctor::broken_barrier);
  EXPECT_EQ(out.get(limit), -1);
  ASSERT_TRUE(p.join(limit));
}

// test_default_timeout: the barrier's own timeout applies to wait().
TEST(python_parity, Barrier_default_timeout) {
  proctor::barrier b{test_runtime(), 2, std::nullopt, 50ms};
  EXPECT_THROW(b.wait(), proctor::broken_barrier);
  EXPECT_TRUE(b.broken());
}

TEST(python_parity, Barrier_single_thread) {
  proctor::barrier b{test_runtime(), 1};
  EXPECT_EQ(b.wait(), 0u);
  EXPECT_EQ(b.wait(), 0u);
  EXPECT_EQ(error_of([] { proctor::barrier none{test_runtime(), 0}; }), errc::bad_argument);
}

// Beyond Python (whose barrier would wait for ever): a party whose process
// dies at the barrier breaks it.
TEST(python_parity, Barrier_dead_party_breaks_it) {
  proctor::barrier b{test_runtime(), 3};
  proctor::queue<int> out{test_runtime()};
  process p{test_runtime(), parity_barrier_party, b, out, 1};
  p.start();
  ASSERT_TRUE(a_party_waits_at(b));
  p.kill();
  ASSERT_TRUE(p.join(limit));
  EXPECT_THROW(b.wait(limit), proctor::broken_barrier);
}

// -- SimpleQueue --------------------------------------------------------------------

TEST(python_parity, SimpleQueue_empty) {
  proctor::simple_queue<int> q{test_runtime()};
  EXPECT_TRUE(q.empty());
  q.put(1);
  EXPECT_FALSE(q.empty());
  q.put(2);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(), 2);
  EXPECT_TRUE(q.empty());
}

TEST(python_parity, SimpleQueue_close) {
  proctor::simple_queue<int> q{test_runtime()};
  q.close();
  EXPECT_EQ(error_of([&] { q.put(1); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { q.get(); }), errc::invalid_state);
}
