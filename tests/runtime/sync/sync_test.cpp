#include "proctor/sync.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/sync/sync_actor.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// Read-modify-write of a counter file: only correct under the lock.
void bumps_under_lock(proctor::lock lock, std::string path, int times) {
  for (int i = 0; i < times; ++i) {
    std::lock_guard<proctor::lock> guard{lock};
    int value = 0;
    std::ifstream{path} >> value;
    std::ofstream{path} << value + 1;
  }
}
PROCTOR_TASK(bumps_under_lock);

void holds_until_killed(proctor::lock lock, proctor::event held) {
  lock.acquire();
  held.set();
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(holds_until_killed);

// Records entering and leaving the section a semaphore guards.
void enters_and_leaves(proctor::semaphore sem, proctor::queue<int> log, int me) {
  for (int i = 0; i < 5; ++i) {
    sem.acquire();
    log.put(me, 30s);
    std::this_thread::sleep_for(2ms);
    log.put(-me, 30s);
    sem.release();
  }
}
PROCTOR_TASK(enters_and_leaves);

void sets_event(proctor::event e) {
  e.set();
}
PROCTOR_TASK(sets_event);

} // namespace

TEST(lock, threads_of_one_process_are_distinct_holders) {
  proctor::lock lock{test_runtime()};
  ASSERT_TRUE(lock.acquire());
  auto other = std::async(std::launch::async, [&] {
    bool at_once = lock.try_lock();
    bool timed = lock.acquire(true, 20ms);
    return std::make_pair(at_once, timed);
  });
  auto [at_once, timed] = other.get();
  EXPECT_FALSE(at_once);
  EXPECT_FALSE(timed);
  lock.release();
  auto later = std::async(std::launch::async, [&] {
    bool got = lock.acquire(true, limit);
    lock.release();
    return got;
  });
  EXPECT_TRUE(later.get());
  EXPECT_EQ(error_of([&] { lock.release(); }), proctor::errc::invalid_state);
}

TEST(lock, processes_do_not_interleave_under_it) {
  auto& rt = test_runtime();
  auto dir = proctor::testing::make_temp_dir();
  auto path = dir + "/counter";
  std::ofstream{path} << 0;
  proctor::lock lock{rt};
  std::vector<std::unique_ptr<process>> procs;
  for (int i = 0; i < 4; ++i)
    procs.push_back(std::make_unique<process>(rt, bumps_under_lock, lock, path, 50));
  for (auto& p : procs)
    p->start();
  for (auto& p : procs) {
    ASSERT_TRUE(p->join(limit));
    EXPECT_EQ(p->exitcode(), 0);
  }
  int value = 0;
  std::ifstream{path} >> value;
  EXPECT_EQ(value, 200);
  std::filesystem::remove_all(dir);
}

TEST(lock, a_killed_holder_releases_it_and_says_so) {
  auto& rt = test_runtime();
  proctor::lock lock{rt};
  proctor::event held{rt};
  process holder{rt, holds_until_killed, lock, held};
  holder.start();
  ASSERT_TRUE(held.wait(limit));
  EXPECT_FALSE(lock.acquire(false));
  holder.kill();
  ASSERT_TRUE(lock.acquire(true, limit));
  EXPECT_TRUE(lock.previous_holder_died());
  lock.release();
  ASSERT_TRUE(lock.acquire(true, limit));
  EXPECT_FALSE(lock.previous_holder_died());
  lock.release();
  ASSERT_TRUE(holder.join(limit));
}

TEST(semaphore, at_most_n_holders_at_once) {
  auto& rt = test_runtime();
  proctor::semaphore sem{rt, 2};
  proctor::queue<int> log{rt};
  std::vector<std::unique_ptr<process>> procs;
  for (int i = 1; i <= 4; ++i)
    procs.push_back(std::make_unique<process>(rt, enters_and_leaves, sem, log, i));
  for (auto& p : procs)
    p->start();
  for (auto& p : procs)
    ASSERT_TRUE(p->join(limit));
  int inside = 0;
  int most = 0;
  for (int i = 0; i < 4 * 5 * 2; ++i) {
    inside += log.get(limit) > 0 ? 1 : -1;
    most = std::max(most, inside);
  }
  EXPECT_EQ(inside, 0);
  EXPECT_LE(most, 2);
  EXPECT_EQ(sem.get_value(), 2);
}

TEST(semaphore, is_a_lockable_that_takes_one_permit) {
  proctor::semaphore permits{test_runtime(), 2};
  {
    std::lock_guard<proctor::semaphore> guard{permits};
    EXPECT_EQ(permits.get_value(), 1);
    EXPECT_TRUE(permits.try_lock_for(10ms));
    EXPECT_EQ(permits.get_value(), 0);
    EXPECT_FALSE(permits.try_lock());
    permits.unlock();
  }
  EXPECT_EQ(permits.get_value(), 2);
}

TEST(semaphore, bounded_refuses_a_release_too_many) {
  proctor::bounded_semaphore sem{test_runtime(), 1};
  EXPECT_EQ(error_of([&] { sem.release(); }), proctor::errc::invalid_state);
  ASSERT_TRUE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false));
  sem.release();
  EXPECT_EQ(sem.get_value(), 1);
}

TEST(rlock, reenters_and_only_its_owner_releases) {
  proctor::rlock lock{test_runtime()};
  ASSERT_TRUE(lock.acquire());
  ASSERT_TRUE(lock.acquire());
  auto other = std::async(std::launch::async, [&] {
    auto code = error_of([&] { lock.release(); });
    return std::make_pair(code, lock.try_lock());
  });
  auto [code, got] = other.get();
  EXPECT_EQ(code, proctor::errc::invalid_state);
  EXPECT_FALSE(got);
  lock.release();
  lock.release();
  EXPECT_EQ(error_of([&] { lock.release(); }), proctor::errc::invalid_state);
}

TEST(event, wait_set_clear_across_processes) {
  auto& rt = test_runtime();
  proctor::event e{rt};
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(10ms));
  process setter{rt, sets_event, e};
  setter.start();
  EXPECT_TRUE(e.wait(limit));
  EXPECT_TRUE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
  ASSERT_TRUE(setter.join(limit));
}

TEST(lock, waiters_are_served_in_arrival_order) {
  namespace in = proctor::internal;
  auto& sys = test_runtime().system();
  auto lock = in::spawn_sync(sys, in::sync_kind::lock, 1);
  caf::scoped_actor holder{sys};
  caf::scoped_actor first{sys};
  caf::scoped_actor second{sys};
  auto acquire = [&](caf::scoped_actor& who) {
    return who->request(lock, limit, in::acquire_atom::value, std::int64_t{-1},
                        std::uint64_t{0});
  };
  auto granted = [&](auto& pending) {
    bool ok = false;
    pending.receive([&](bool) { ok = true; }, [&](caf::error&) {});
    return ok;
  };
  auto release = [&](caf::scoped_actor& who) {
    who->request(lock, limit, in::release_atom::value, std::uint64_t{0})
      .receive([] {}, [](caf::error&) {});
  };
  auto held = acquire(holder);
  ASSERT_TRUE(granted(held));
  // Local mailboxes take messages in call order: first arrives before second.
  auto first_wait = acquire(first);
  auto second_wait = acquire(second);
  release(holder);
  ASSERT_TRUE(granted(first_wait)); // times out here if second was served first
  release(first);
  ASSERT_TRUE(granted(second_wait));
  release(second);
  caf::anon_send_exit(lock, caf::exit_reason::user_shutdown);
}
