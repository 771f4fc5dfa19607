// A handle's per-thread sessions: one per running thread, handed on when a
// thread ends, and never the holder identity of a thread that ended.
#include "runtime/core/actor_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "proctor/queue.hpp"
#include "proctor/sync.hpp"
#include "runtime/core/thread_exit.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using proctor::internal::channel_failure;
using proctor::internal::per_thread;
using proctor::internal::thread_serial;

namespace {

std::atomic<int> sessions_made{0};

struct counting_session {
  counting_session(caf::actor_system&, caf::actor, std::shared_ptr<channel_failure>) {
    ++sessions_made;
  }
};

class counting_client : public per_thread<counting_session> {
public:
  using per_thread::per_thread;
};

} // namespace

TEST(thread_sessions, an_ended_threads_session_serves_the_next_thread) {
  sessions_made = 0;
  counting_client client{proctor::testing::test_runtime().system(), caf::actor{}};
  for (int i = 0; i < 200; ++i)
    std::thread{[&] { client.mine(); }}.join();
  EXPECT_EQ(sessions_made.load(), 1);
}

TEST(thread_sessions, threads_running_at_once_have_one_session_each) {
  sessions_made = 0;
  counting_client client{proctor::testing::test_runtime().system(), caf::actor{}};
  constexpr int threads = 8;
  std::barrier all_in{threads};
  std::vector<std::thread> running;
  for (int i = 0; i < threads; ++i)
    running.emplace_back([&] {
      client.mine();
      all_in.arrive_and_wait();
    });
  for (auto& t : running)
    t.join();
  EXPECT_EQ(sessions_made.load(), threads);
}

TEST(thread_sessions, no_thread_gets_the_serial_of_an_ended_one) {
  std::set<std::uint64_t> seen{thread_serial()};
  for (int i = 0; i < 200; ++i)
    std::thread{[&] { EXPECT_TRUE(seen.insert(thread_serial()).second); }}.join();
}

TEST(thread_sessions, a_new_thread_does_not_inherit_an_ended_threads_rlock) {
  for (int i = 0; i < 20; ++i) {
    proctor::rlock mine{proctor::testing::test_runtime()};
    std::thread{[&] { ASSERT_TRUE(mine.acquire()); }}.join();
    // The thread that holds it ended; a later thread (often with the same
    // std::thread::id) is another holder.
    std::thread{[&] {
      EXPECT_FALSE(mine.try_lock());
      EXPECT_EQ(proctor::testing::error_of([&] { mine.release(); }),
                proctor::errc::invalid_state);
    }}.join();
  }
}

// Threads that share one queue handle, each putting and getting one item:
// a batch one thread fetched ahead is never left beside another thread that
// waits at the queue for it.
TEST(thread_sessions, threads_sharing_a_queue_handle_strand_no_items) {
  proctor::queue<int> q{proctor::testing::test_runtime()};
  std::atomic<int> failures{0};
  for (int round = 0; round < 100; ++round) {
    std::vector<std::thread> batch;
    for (int i = 0; i < 8; ++i)
      batch.emplace_back([&, i] {
        q.put(i);
        try {
          (void) q.get(std::chrono::seconds{30});
        } catch (const proctor::error&) {
          ++failures;
        }
      });
    for (auto& t : batch)
      t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(q.empty());
}
