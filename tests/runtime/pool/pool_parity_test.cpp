// CPython's Lib/test/_test_multiprocessing.py, _TestPool,
// _TestPoolWorkerErrors and _TestPoolWorkerLifetime, written anew for
// proctor::pool. Each test is named after the case it follows.
#include "proctor/pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::pool;
using proctor::pool_options;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

int parity_sqr(int x) {
  return x * x;
}
PROCTOR_TASK(parity_sqr);

int parity_mul(int x, int y) {
  return x * y;
}
PROCTOR_TASK(parity_mul);

int parity_slow_sqr(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return x * x;
}
PROCTOR_TASK(parity_slow_sqr);

int parity_parse(std::string text) {
  std::size_t used = 0;
  int value = std::stoi(text, &used); // throws std::invalid_argument, as int('a')
  return value;
}
PROCTOR_TASK(parity_parse);

int parity_raise(int) {
  throw std::runtime_error("key error");
}
PROCTOR_TASK(parity_raise);

int parity_pid(int) {
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(parity_pid);

struct say_when : std::runtime_error {
  say_when() : std::runtime_error("somebody said when") {
  }
};

/// Python's exception_throwing_generator(total, when): 0, 1, ... and
/// say_when instead of element `when`.
class throwing_range {
public:
  throwing_range(int total, int when) : total_(total), when_(when) {
  }

  class iterator {
  public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    iterator(int i, int when) : i_(i), when_(when) {
    }
    int operator*() const {
      if (i_ == when_)
        throw say_when{};
      return i_;
    }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    bool operator==(const iterator& other) const {
      return i_ == other.i_;
    }

  private:
    int i_ = 0;
    int when_ = -1;
  };

  iterator begin() const {
    return {0, when_};
  }
  iterator end() const {
    return {total_, when_};
  }

private:
  int total_;
  int when_;
};

std::vector<int> range_of(int n) {
  std::vector<int> xs(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    xs[static_cast<std::size_t>(i)] = i;
  return xs;
}

std::vector<int> squares_of(int n) {
  auto xs = range_of(n);
  for (auto& x : xs)
    x *= x;
  return xs;
}

/// One pool for the tests that need nothing special of it, ended before
/// the runtime is (a pool must not outlive it).
class shared_pool_environment : public ::testing::Environment {
public:
  static pool& get() {
    if (!instance)
      instance = std::make_unique<pool>(test_runtime(), pool_options{.processes = 4});
    return *instance;
  }
  void TearDown() override {
    instance.reset();
  }

private:
  static inline std::unique_ptr<pool> instance;
};
[[maybe_unused]] auto* const shared_pool_registration
  = ::testing::AddGlobalTestEnvironment(new shared_pool_environment);

pool& shared_pool() {
  return shared_pool_environment::get();
}

} // namespace

TEST(python_parity, Pool_apply) {
  EXPECT_EQ(shared_pool().apply(parity_sqr, 5), 25);
  EXPECT_EQ(shared_pool().apply(parity_mul, 3, 3), 9);
}

TEST(python_parity, Pool_map) {
  EXPECT_EQ(shared_pool().map(parity_sqr, range_of(10)), squares_of(10));
  EXPECT_EQ(shared_pool().map(parity_sqr, range_of(100), 20), squares_of(100));
}

TEST(python_parity, Pool_starmap) {
  std::vector<std::tuple<int, int>> pairs{{0, 1}, {1, 2}, {2, 3}, {3, 4}};
  std::vector<int> expected{0, 2, 6, 12};
  EXPECT_EQ(shared_pool().starmap(parity_mul, pairs), expected);
  EXPECT_EQ(shared_pool().starmap(parity_mul, pairs, 2), expected);
}

TEST(python_parity, Pool_starmap_async) {
  std::vector<std::tuple<int, int>> pairs{{0, 1}, {1, 2}, {2, 3}};
  EXPECT_EQ(shared_pool().starmap_async(parity_mul, pairs).get(limit),
            (std::vector<int>{0, 2, 6}));
}

TEST(python_parity, Pool_map_async) {
  EXPECT_EQ(shared_pool().map_async(parity_sqr, range_of(10)).get(limit), squares_of(10));
}

// callback= and error_callback= of map_async, each called once.
TEST(python_parity, Pool_map_async_callbacks) {
  std::mutex mtx;
  std::vector<std::vector<int>> results;
  std::vector<proctor::errc> errors;
  auto record = proctor::callbacks{[&](std::vector<int> xs) {
                                     std::lock_guard<std::mutex> guard{mtx};
                                     results.push_back(std::move(xs));
                                   },
                                   [&](const proctor::error& e) {
                                     std::lock_guard<std::mutex> guard{mtx};
                                     errors.push_back(e.code());
                                   }};
  shared_pool().map_async(record, parity_parse, std::vector<std::string>{"1"}).wait();
  {
    std::lock_guard<std::mutex> guard{mtx};
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0], (std::vector<int>{1}));
    EXPECT_TRUE(errors.empty());
  }
  shared_pool().map_async(record, parity_parse, std::vector<std::string>{"a"}).wait();
  std::lock_guard<std::mutex> guard{mtx};
  EXPECT_EQ(results.size(), 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], errc::remote_error);
}

TEST(python_parity, Pool_starmap_async_callbacks) {
  std::atomic<int> sum{-1};
  auto r = shared_pool().starmap_async(
    proctor::callbacks{[&](std::vector<int> xs) { sum = xs[0] + xs[1]; },
                       [&](const proctor::error&) { sum = -2; }},
    parity_mul, std::vector<std::tuple<int, int>>{{2, 3}, {4, 5}});
  EXPECT_EQ(r.get(limit), (std::vector<int>{6, 20}));
  EXPECT_EQ(sum.load(), 26); // the callback ran before get() returned
}

// test_map_chunksize: an empty map with chunksize 1 completes.
TEST(python_parity, Pool_map_chunksize) {
  EXPECT_TRUE(shared_pool().map_async(parity_sqr, std::vector<int>{}, 1).get(limit).empty());
}

// test_map_handle_iterable_exception: map reads its input first, so the
// input's exception comes from the call.
TEST(python_parity, Pool_map_handle_iterable_exception) {
  EXPECT_THROW(shared_pool().map(parity_sqr, throwing_range(1, 0), 1), say_when);
  EXPECT_THROW(shared_pool().map(parity_sqr, throwing_range(1, 0), 1), say_when);
  EXPECT_THROW(shared_pool().map(parity_sqr, throwing_range(10, 3), 1), say_when);
}

TEST(python_parity, Pool_async) {
  auto r = shared_pool().apply_async(parity_slow_sqr, 7, 50);
  EXPECT_EQ(r.get(limit), 49);
}

TEST(python_parity, Pool_async_timeout) {
  auto r = shared_pool().apply_async(parity_slow_sqr, 6, 2000);
  EXPECT_THROW(r.get(50ms), proctor::timeout_error);
  EXPECT_EQ(r.get(limit), 36);
}

TEST(python_parity, Pool_imap) {
  auto it = shared_pool().imap(parity_sqr, range_of(10));
  std::vector<int> got(it.begin(), it.end());
  EXPECT_EQ(got, squares_of(10));
  auto it2 = shared_pool().imap(parity_sqr, range_of(10));
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(it2.next(limit), i * i);
  EXPECT_FALSE(it2.has_next());
  EXPECT_EQ(error_of([&] { it2.next(); }), errc::invalid_state); // StopIteration
  auto it3 = shared_pool().imap(parity_sqr, range_of(1000), 100);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(it3.next(limit), i * i);
  EXPECT_FALSE(it3.has_next());
}

// test_imap_handle_iterable_exception. Python loses the elements of the
// chunk the exception interrupted; proctor runs them (7 results, not 6, for
// chunksize 2), then raises.
TEST(python_parity, Pool_imap_handle_iterable_exception) {
  auto it = shared_pool().imap(parity_sqr, throwing_range(10, 3), 1);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(it.next(limit), i * i);
  EXPECT_THROW(it.next(limit), say_when);
  EXPECT_FALSE(it.has_next());

  auto it2 = shared_pool().imap(parity_sqr, throwing_range(20, 7), 2);
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(it2.next(limit), i * i);
  EXPECT_THROW(it2.next(limit), say_when);

  auto it3 = shared_pool().imap(parity_sqr, throwing_range(1, 0), 1);
  EXPECT_THROW(it3.next(limit), say_when);
}

TEST(python_parity, Pool_imap_unordered) {
  auto it = shared_pool().imap_unordered(parity_sqr, range_of(100));
  std::vector<int> got(it.begin(), it.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, squares_of(100));
  auto it2 = shared_pool().imap_unordered(parity_sqr, range_of(1000), 53);
  std::vector<int> got2(it2.begin(), it2.end());
  std::sort(got2.begin(), got2.end());
  EXPECT_EQ(got2, squares_of(1000));
}

TEST(python_parity, Pool_imap_unordered_handle_iterable_exception) {
  auto it = shared_pool().imap_unordered(parity_sqr, throwing_range(10, 3), 1);
  std::set<int> expected{0, 1, 4};
  std::set<int> got;
  for (int i = 0; i < 3; ++i)
    got.insert(it.next(limit));
  EXPECT_EQ(got, expected);
  EXPECT_THROW(it.next(limit), say_when);

  auto it2 = shared_pool().imap_unordered(parity_sqr, throwing_range(20, 7), 2);
  std::set<int> got2;
  for (int i = 0; i < 7; ++i)
    got2.insert(it2.next(limit));
  EXPECT_EQ(got2, (std::set<int>{0, 1, 4, 9, 16, 25, 36}));
  EXPECT_THROW(it2.next(limit), say_when);
}

// test_make_pool: Python refuses 0 processes; proctor reads 0 as "one per
// CPU" (pool_options documents it), so only that is checked here.
TEST(python_parity, Pool_make_pool) {
  pool p{test_runtime(), pool_options{.processes = 0}};
  EXPECT_EQ(p.processes(), static_cast<std::size_t>(proctor::cpu_count()));
  p.close();
  p.join();
}

TEST(python_parity, Pool_terminate) {
  pool p{test_runtime(), pool_options{.processes = 2}};
  std::vector<proctor::async_result<int>> slow;
  for (int i = 0; i < 4; ++i)
    slow.push_back(p.apply_async(parity_slow_sqr, i, 10000));
  p.terminate();
  EXPECT_TRUE(p.join(limit));
  for (auto& s : slow)
    EXPECT_THROW(s.get(limit), proctor::pool_terminated);
}

TEST(python_parity, Pool_empty_iterable) {
  std::vector<int> none;
  EXPECT_TRUE(shared_pool().map(parity_sqr, none).empty());
  auto it = shared_pool().imap(parity_sqr, none);
  EXPECT_EQ(std::distance(it.begin(), it.end()), 0);
  auto it2 = shared_pool().imap_unordered(parity_sqr, none);
  EXPECT_EQ(std::distance(it2.begin(), it2.end()), 0);
  EXPECT_TRUE(shared_pool().map_async(parity_sqr, none).get(limit).empty());
}

// test_traceback: the worker's exception type and text reach the caller.
TEST(python_parity, Pool_traceback) {
  try {
    shared_pool().apply(parity_raise, 1);
    FAIL() << "no exception";
  } catch (const proctor::remote_error& e) {
    EXPECT_EQ(e.type(), "std::runtime_error");
    EXPECT_NE(std::string{e.what()}.find("key error"), std::string::npos);
  }
}

// test_map_no_failfast: a failing map does not keep the pool from joining.
TEST(python_parity, Pool_map_no_failfast) {
  pool p{test_runtime(), pool_options{.processes = 2}};
  EXPECT_THROW(p.map(parity_raise, range_of(100), 1), proctor::remote_error);
  p.close();
  EXPECT_TRUE(p.join(limit));
}

// _TestPoolWorkerErrors.test_async_error_callback: error_callback runs
// before get() raises, every time.
TEST(python_parity, Pool_async_error_callback) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::atomic<bool> called{false};
    auto r = shared_pool().apply_async(
      proctor::callbacks{[&](int) {}, [&](const proctor::error&) { called = true; }},
      parity_raise, 1);
    EXPECT_THROW(r.get(limit), proctor::remote_error);
    ASSERT_TRUE(called.load()) << "attempt " << attempt;
  }
}

// The same for callback=: it has run once get() returned.
TEST(python_parity, Pool_async_callback_before_ready) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::atomic<int> seen{0};
    auto r = shared_pool().apply_async(
      proctor::callbacks{[&](int x) { seen = x; }, [&](const proctor::error&) {}}, parity_sqr,
      attempt + 1);
    EXPECT_EQ(r.get(limit), (attempt + 1) * (attempt + 1));
    ASSERT_EQ(seen.load(), (attempt + 1) * (attempt + 1)) << "attempt " << attempt;
  }
}

// _TestPoolWorkerLifetime.test_pool_worker_lifetime: workers are replaced
// after max_tasks_per_child tasks; every result still arrives.
TEST(python_parity, Pool_worker_lifetime) {
  pool p{test_runtime(), pool_options{.processes = 3, .max_tasks_per_child = 10}};
  std::vector<proctor::async_result<int>> results;
  for (int i = 0; i < 100; ++i)
    results.push_back(p.apply_async(parity_sqr, i));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(results[static_cast<std::size_t>(i)].get(limit), i * i);
  std::set<int> pids;
  for (int i = 0; i < 30; ++i)
    pids.insert(p.apply(parity_pid, i));
  EXPECT_GE(pids.size(), 3u); // 30 tasks, 10 per worker: at least 3 workers
  p.close();
  EXPECT_TRUE(p.join(limit));
}

TEST(python_parity, Pool_worker_lifetime_early_close) {
  pool p{test_runtime(), pool_options{.processes = 1, .max_tasks_per_child = 1}};
  std::vector<proctor::async_result<int>> results;
  for (int i = 0; i < 6; ++i)
    results.push_back(p.apply_async(parity_slow_sqr, i, 10));
  p.close();
  EXPECT_TRUE(p.join(limit));
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(results[static_cast<std::size_t>(i)].get(limit), i * i);
}
