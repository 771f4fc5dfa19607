#include "proctor/pool.hpp"
#include "proctor/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <ranges>
#include <sstream>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::pool;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 60s;

int square(int x) {
  return x * x;
}
PROCTOR_TASK(square);

int add(int x, int y) {
  return x + y;
}
PROCTOR_TASK(add);

int fails(int x) {
  throw std::invalid_argument("bad input " + std::to_string(x));
}
PROCTOR_TASK(fails);

int throws_proctor_error(int code) {
  auto c = static_cast<proctor::errc>(code);
  if (c == proctor::errc::queue_empty)
    throw proctor::queue_empty("nothing in the task's queue");
  throw proctor::error(c, "the task's own proctor error");
}
PROCTOR_TASK(throws_proctor_error);

int my_pid() {
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(my_pid);

int sleeps(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return ms;
}
PROCTOR_TASK(sleeps);

// SIGKILLs its own worker when given x == 13.
int square_or_die_on_13(int x) {
  if (x == 13)
    ::kill(::getpid(), SIGKILL);
  return x * x;
}
PROCTOR_TASK(square_or_die_on_13);

// Dies on its first run only: the marker file remembers the run.
int dies_once(std::string marker) {
  if (!std::filesystem::exists(marker)) {
    std::ofstream{marker} << "ran";
    ::kill(::getpid(), SIGKILL);
  }
  return 42;
}
PROCTOR_TASK(dies_once);

std::atomic<int> last_pid{0};

// Sleeps a millisecond and returns its worker's pid: the chaos test's
// killer picks its victims from these.
int sleeps_then_pid(int) {
  std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(sleeps_then_pid);

int initialized_value = 0;

void initialize(int value) {
  initialized_value = value;
}
PROCTOR_TASK(initialize);

int read_initialized() {
  return initialized_value;
}
PROCTOR_TASK(read_initialized);

void initializer_fails() {
  throw std::runtime_error("no config");
}
PROCTOR_TASK(initializer_fails);

// Ends its worker: 0 abort, 1 exit(3), 2 a segfault.
int dies_by(int how) {
  if (how == 0)
    std::abort();
  if (how == 1)
    std::_Exit(3);
  std::raise(SIGSEGV);
  return 0;
}
PROCTOR_TASK(dies_by);

int not_registered(int x) {
  return x;
}

std::string marker_path(const char* name) {
  auto path = std::filesystem::temp_directory_path()
              / (std::string{"proctor-pool-"} + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  return path.string();
}

} // namespace

TEST(pool, apply_and_apply_async) {
  pool p{test_runtime(), {.processes = 2}};
  EXPECT_EQ(p.apply(square, 7), 49);
  auto r = p.apply_async(add, 2, 3);
  EXPECT_EQ(r.get(limit), 5);
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.successful());
  p.close();
  EXPECT_TRUE(p.join(limit));
}

TEST(pool, map_starmap_and_imap_keep_every_result) {
  pool p{test_runtime(), {.processes = 2}};
  std::vector<int> xs;
  std::vector<int> squares;
  for (int i = 0; i < 100; ++i) {
    xs.push_back(i);
    squares.push_back(i * i);
  }
  EXPECT_EQ(p.map(square, xs), squares);
  EXPECT_EQ(p.map(square, xs, 1), squares);
  EXPECT_EQ(p.map(square, xs, 1000), squares);
  EXPECT_TRUE(p.map(square, std::vector<int>{}).empty());
  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(p.starmap(add, pairs), (std::vector<int>{3, 7, 11}));
  std::vector<int> ordered;
  for (int x : p.imap(square, xs, 7))
    ordered.push_back(x);
  EXPECT_EQ(ordered, squares);
  auto unordered = p.imap_unordered(square, xs);
  std::multiset<int> seen;
  while (unordered.has_next())
    seen.insert(unordered.next(limit));
  EXPECT_EQ(seen, std::multiset<int>(squares.begin(), squares.end()));
  EXPECT_EQ(proctor::internal::default_chunksize(100, 2), 13u);
}

TEST(pool, a_task_that_throws_fails_alone_with_its_type_and_message) {
  pool p{test_runtime(), {.processes = 1}};
  auto r = p.apply_async(fails, 5);
  try {
    r.get(limit);
    FAIL() << "no exception";
  } catch (const proctor::remote_error& e) {
    EXPECT_EQ(e.type(), "std::invalid_argument");
    EXPECT_STREQ(e.what(), "bad input 5");
  }
  EXPECT_FALSE(r.successful());
  EXPECT_EQ(p.apply(square, 3), 9); // the worker lives on
  EXPECT_EQ(p.stats().worker_restarts, 0u);
}

TEST(pool, a_proctor_error_in_a_task_keeps_its_code_and_class) {
  pool p{test_runtime(), {.processes = 1}};
  try {
    p.apply(throws_proctor_error, static_cast<int>(proctor::errc::queue_empty));
    FAIL() << "no exception";
  } catch (const proctor::queue_empty& e) {
    EXPECT_STREQ(e.what(), "nothing in the task's queue");
  }
  try {
    p.apply(throws_proctor_error, static_cast<int>(proctor::errc::invalid_state));
    FAIL() << "no exception";
  } catch (const proctor::remote_error&) {
    FAIL() << "a proctor::error became remote_error";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::invalid_state);
    EXPECT_STREQ(e.what(), "the task's own proctor error");
  }
  EXPECT_EQ(p.stats().worker_restarts, 0u);
}

TEST(pool, a_killed_worker_is_replaced_and_its_task_retried) {
  pool p{test_runtime(), {.processes = 1}};
  auto marker = marker_path("dies-once");
  EXPECT_EQ(p.apply_async(dies_once, marker).get(limit), 42);
  auto s = p.stats();
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(s.worker_restarts, 1u);
  EXPECT_EQ(p.apply(square, 4), 16);
  std::filesystem::remove(marker);
}

TEST(pool, a_task_that_kills_every_worker_fails_alone_with_worker_died) {
  pool p{test_runtime(), {.processes = 2, .max_retries = 2}};
  std::vector<int> xs;
  for (int i = 0; i < 20; ++i)
    xs.push_back(i);
  std::vector<proctor::async_result<int>> results;
  for (int x : xs)
    results.push_back(p.apply_async(square_or_die_on_13, x));
  for (int x : xs) {
    if (x == 13) {
      try {
        results[x].get(limit);
        FAIL() << "task 13 did not fail";
      } catch (const proctor::worker_died& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("SIGKILL"), std::string::npos) << what;
        EXPECT_NE(what.find("attempts: 3"), std::string::npos) << what;
      }
    } else {
      EXPECT_EQ(results[x].get(limit), x * x);
    }
  }
  auto s = p.stats();
  // Three deaths are pinned on task 13; one more may come first while a
  // result of another task was still on its way (then nobody is blamed).
  EXPECT_GE(s.worker_restarts, 3u);
  EXPECT_LE(s.worker_restarts, 4u);
  EXPECT_EQ(s.done, 19u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(p.apply(square, 5), 25);
}

TEST(pool, too_many_restarts_break_the_pool_and_every_call_fails) {
  pool p{test_runtime(), {.processes = 1, .max_retries = 10, .max_restarts = 2,
                          .restart_period = std::chrono::hours{1}}};
  auto doomed = p.apply_async(square_or_die_on_13, 13);
  auto behind = p.apply_async(sleeps, 1);
  EXPECT_EQ(error_of([&] { doomed.get(limit); }), proctor::errc::pool_broken);
  EXPECT_EQ(error_of([&] { behind.get(limit); }), proctor::errc::pool_broken);
  EXPECT_EQ(error_of([&] { p.apply_async(square, 2); }), proctor::errc::pool_broken);
  p.close();
  EXPECT_TRUE(p.join(limit));
}

TEST(pool, a_task_past_its_timeout_kills_its_worker_and_fails) {
  pool p{test_runtime(), {.processes = 1, .max_retries = 1, .task_timeout = 100ms}};
  auto hung = p.apply_async(sleeps, 600000);
  try {
    hung.get(limit);
    FAIL() << "no timeout";
  } catch (const proctor::task_timed_out& e) {
    EXPECT_NE(std::string{e.what()}.find("attempts: 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(p.apply(square, 6), 36);
}

TEST(pool, terminate_fails_what_is_unfinished) {
  pool p{test_runtime(), {.processes = 1}};
  auto hung = p.apply_async(sleeps, 600000);
  auto queued = p.map_async(square, std::vector<int>{1, 2, 3});
  p.terminate();
  EXPECT_EQ(error_of([&] { hung.get(limit); }), proctor::errc::pool_terminated);
  EXPECT_EQ(error_of([&] { queued.get(limit); }), proctor::errc::pool_terminated);
  EXPECT_TRUE(p.join(limit));
  EXPECT_EQ(error_of([&] { p.apply_async(square, 2); }), proctor::errc::pool_terminated);
}

TEST(pool, close_and_join_finish_everything_submitted) {
  pool p{test_runtime(), {.processes = 2}};
  EXPECT_EQ(error_of([&] { p.join(); }), proctor::errc::invalid_state);
  auto slow = p.apply_async(sleeps, 200);
  auto r = p.map_async(square, std::vector<int>{1, 2, 3, 4});
  EXPECT_EQ(error_of([&] { slow.successful(); }), proctor::errc::invalid_state);
  p.close();
  EXPECT_EQ(error_of([&] { p.apply_async(square, 2); }), proctor::errc::invalid_state);
  EXPECT_TRUE(p.join(limit));
  EXPECT_TRUE(slow.ready());
  EXPECT_EQ(slow.get(), 200);
  EXPECT_EQ(r.get(), (std::vector<int>{1, 4, 9, 16}));
  EXPECT_EQ(p.stats().workers_alive, 0u);
}

TEST(pool, max_tasks_per_child_replaces_workers_without_losing_tasks) {
  pool p{test_runtime(), {.processes = 1, .max_tasks_per_child = 1}};
  std::set<int> pids;
  for (int i = 0; i < 3; ++i)
    pids.insert(p.apply_async(my_pid).get(limit));
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_EQ(p.stats().worker_restarts, 0u);
}

TEST(pool, the_initializer_runs_in_every_worker) {
  pool p{test_runtime(),
         {.processes = 1, .initializer = proctor::call(initialize, 77), .max_tasks_per_child = 1}};
  EXPECT_EQ(p.apply_async(read_initialized).get(limit), 77);
  EXPECT_EQ(p.apply_async(read_initialized).get(limit), 77); // a fresh worker
}

TEST(pool, an_initializer_that_throws_breaks_the_pool_instead_of_looping) {
  pool p{test_runtime(), {.processes = 1,
                          .initializer = proctor::call(initializer_fails),
                          .max_restarts = 2}};
  try {
    p.apply_async(square, 2).get(limit);
    FAIL() << "the pool did not break";
  } catch (const proctor::pool_broken& e) {
    EXPECT_NE(std::string{e.what()}.find("no config"), std::string::npos) << e.what();
  }
}

TEST(pool, callbacks_get_the_value_or_the_error) {
  pool p{test_runtime(), {.processes = 1}};
  std::promise<int> value;
  std::promise<std::string> failure;
  p.apply_async(proctor::callbacks{[&](int x) { value.set_value(x); },
                                   [&](const proctor::error&) { value.set_value(-1); }},
                square, 9);
  p.apply_async(proctor::callbacks{[&](int) { failure.set_value("none"); },
                                   [&](const proctor::error& e) { failure.set_value(e.what()); }},
                fails, 1);
  auto v = value.get_future();
  auto f = failure.get_future();
  ASSERT_EQ(v.wait_for(limit), std::future_status::ready);
  ASSERT_EQ(f.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(v.get(), 81);
  EXPECT_EQ(f.get(), "bad input 1");
}

TEST(pool, join_returns_after_every_callback_ran) {
  pool p{test_runtime(), {.processes = 2}};
  std::atomic<int> called{0};
  for (int i = 0; i < 20; ++i)
    p.apply_async(proctor::callbacks{[&](int) {
                                       // A slow callback: join must still wait for it.
                                       std::this_thread::sleep_for(5ms);
                                       ++called;
                                     },
                                     [&](const proctor::error&) { ++called; }},
                  square, i);
  p.close();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(called.load(), 20);
}

TEST(pool, an_unregistered_function_is_refused_at_the_call) {
  pool p{test_runtime(), {.processes = 1}};
  EXPECT_EQ(error_of([&] { p.apply_async(not_registered, 1); }),
            proctor::errc::unregistered_task);
  EXPECT_EQ(error_of([&] { p.map(not_registered, std::vector<int>{1}); }),
            proctor::errc::unregistered_task);
}

TEST(pool, a_result_not_ready_in_time_is_a_timeout_error) {
  pool p{test_runtime(), {.processes = 1}};
  auto r = p.apply_async(sleeps, 600000);
  EXPECT_THROW(r.get(10ms), proctor::timeout_error);
  EXPECT_FALSE(r.wait(10ms));
  EXPECT_FALSE(r.ready());
}

TEST(pool, abort_exit_and_segfault_each_fail_their_task_alone) {
  pool p{test_runtime(), {.processes = 1, .max_retries = 0}};
  auto what_of = [&](int how) -> std::string {
    try {
      p.apply_async(dies_by, how).get(limit);
    } catch (const proctor::worker_died& e) {
      return e.what();
    }
    return "no worker_died";
  };
  EXPECT_NE(what_of(0).find("SIGABRT"), std::string::npos);
  EXPECT_NE(what_of(1).find("exited with code 3"), std::string::npos);
  // A sanitizer's handler may turn the segfault into an exit code.
  auto segv = what_of(2);
  EXPECT_TRUE(segv.find("SIGSEGV") != std::string::npos
              || segv.find("exited with code") != std::string::npos)
    << segv;
  EXPECT_EQ(p.apply(square, 8), 64);
}

TEST(pool, chaos_every_task_exactly_once_while_workers_are_killed) {
  pool p{test_runtime(),
         {.processes = 2, .max_retries = 1000, .max_restarts = 100000}};
  constexpr int n = 2000;
  std::vector<std::atomic<int>> delivered(n);
  std::vector<proctor::async_result<int>> results;
  for (int i = 0; i < n; ++i)
    results.push_back(p.apply_async(
      proctor::callbacks{[&, i](int pid) {
                           ++delivered[static_cast<std::size_t>(i)];
                           last_pid = pid;
                         },
                         [&, i](const proctor::error&) { ++delivered[static_cast<std::size_t>(i)]; }},
      sleeps_then_pid, i));
  std::atomic<bool> done{false};
  std::thread killer{[&] {
    std::mt19937 rng{7};
    int kills = 0;
    while (!done && kills < 20) {
      std::this_thread::sleep_for(100ms);
      auto pid = last_pid.load();
      if (pid != 0 && ::kill(pid, SIGKILL) == 0)
        ++kills;
    }
  }};
  for (int i = 0; i < n; ++i)
    EXPECT_NO_THROW(results[static_cast<std::size_t>(i)].get(limit)) << i;
  done = true;
  killer.join();
  p.close();
  ASSERT_TRUE(p.join(limit));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(delivered[static_cast<std::size_t>(i)].load(), 1) << i;
  auto s = p.stats();
  EXPECT_EQ(s.done, static_cast<std::size_t>(n));
  EXPECT_EQ(s.failed, 0u);
}

TEST(pool, terminate_during_a_map_fails_it_and_ends_the_workers) {
  pool p{test_runtime(), {.processes = 2}};
  std::vector<int> ms(200, 5);
  auto r = p.map_async(sleeps, ms, 1);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (r.progress().first == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  p.terminate();
  EXPECT_EQ(error_of([&] { r.get(limit); }), proctor::errc::pool_terminated);
  EXPECT_TRUE(p.join(limit));
  EXPECT_EQ(p.stats().workers_alive, 0u);
}

TEST(pool, imap_unordered_yields_results_as_they_arrive) {
  pool p{test_runtime(), {.processes = 2}};
  auto results = p.imap_unordered(sleeps, std::vector<int>{3000, 0, 0, 0});
  EXPECT_EQ(results.next(limit), 0); // not held back by the slow first task
  std::multiset<int> rest;
  while (results.has_next())
    rest.insert(results.next(limit));
  EXPECT_EQ(rest, (std::multiset<int>{0, 0, 3000}));
  EXPECT_EQ(error_of([&] { results.next(); }), proctor::errc::invalid_state);
}

TEST(pool, progress_counts_the_results_of_a_map) {
  pool p{test_runtime(), {.processes = 2}};
  auto r = p.map_async(square, std::vector<int>(50, 3), 4);
  EXPECT_EQ(r.get(limit), std::vector<int>(50, 9));
  EXPECT_EQ(r.progress(), (std::pair<std::size_t, std::size_t>{50, 50}));
}

TEST(pool, a_progress_hook_hears_every_chunk_in_order_off_the_callers_thread) {
  pool p{test_runtime(), {.processes = 2}};
  std::mutex mtx;
  std::vector<std::size_t> reports;
  std::promise<std::thread::id> last;
  auto hook = proctor::progress_hook{[&](std::size_t done, std::size_t total) {
    std::lock_guard<std::mutex> guard{mtx};
    EXPECT_EQ(total, 50u);
    reports.push_back(done);
    if (done == total)
      last.set_value(std::this_thread::get_id());
  }};
  auto r = p.map_async(hook, square, std::vector<int>(50, 3), 4);
  EXPECT_EQ(r.get(limit), std::vector<int>(50, 9));
  auto finished = last.get_future();
  ASSERT_EQ(finished.wait_for(limit), std::future_status::ready);
  EXPECT_NE(finished.get(), std::this_thread::get_id());
  std::lock_guard<std::mutex> guard{mtx};
  ASSERT_EQ(reports.size(), 13u); // 12 chunks of 4, one of 2
  EXPECT_TRUE(std::is_sorted(reports.begin(), reports.end()));
  EXPECT_EQ(reports.back(), 50u);
  // starmap_async takes one too.
  std::atomic<std::size_t> seen{0};
  auto pairs = std::vector<std::tuple<int, int>>{{1, 2}, {3, 4}};
  auto s = p.starmap_async(proctor::progress_hook{[&](std::size_t done, std::size_t) {
                             seen = done;
                           }},
                           add, pairs, 1);
  EXPECT_EQ(s.get(limit), (std::vector<int>{3, 7}));
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (seen != 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(seen, 2u);
}

TEST(pool, a_closed_pool_replaces_spent_workers_until_every_task_is_done) {
  pool p{test_runtime(), {.processes = 1, .max_tasks_per_child = 1}};
  auto r = p.map_async(square, std::vector<int>{1, 2, 3}, 1);
  p.close();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(r.get(limit), (std::vector<int>{1, 4, 9}));
}

TEST(pool, map_reads_a_single_pass_range_once) {
  pool p{test_runtime(), {.processes = 2}};
  std::istringstream numbers{"1 2 3 4 5"};
  EXPECT_EQ(p.map(square, std::ranges::istream_view<int>(numbers)),
            (std::vector<int>{1, 4, 9, 16, 25}));
}

TEST(pool, a_result_that_does_not_decode_is_a_clear_error) {
  auto state = std::make_shared<proctor::internal::result_state>(std::vector<std::size_t>{1});
  state->complete(0, std::vector<char>{'\x01'}); // one byte, not an int
  proctor::async_result<int> r{state, &proctor::internal::decode_single<int>};
  EXPECT_TRUE(r.ready());
  EXPECT_EQ(error_of([&] { r.get(); }), proctor::errc::malformed_payload);
  state->complete(0, std::vector<char>(4, '\0')); // a second answer is ignored
  EXPECT_EQ(error_of([&] { r.get(); }), proctor::errc::malformed_payload);
}
