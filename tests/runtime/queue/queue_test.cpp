#include "proctor/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/queue/queue_actor.hpp"
#include "proctor/message_type.hpp"
#include "proctor/process.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::process;
using proctor::queue;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

using int_queue = proctor::queue<int>;
PROCTOR_MESSAGE_TYPE(int_queue);

namespace {

constexpr auto limit = 30s;

void produce(int_queue q, int from, int count) {
  for (int i = from; i < from + count; ++i)
    q.put(i);
}
PROCTOR_TASK(produce);

// Moves items from `work` to `results` until `work` is closed and drained.
void consume_into(int_queue work, int_queue results) {
  for (;;) {
    int x;
    try {
      x = work.get();
    } catch (const proctor::error& e) {
      if (e.code() == proctor::errc::closed)
        return;
      throw;
    }
    results.put(x);
  }
}
PROCTOR_TASK(consume_into);

// Takes `k` items, reports each synchronously, then hangs holding whatever
// it fetched ahead.
void consume_some_then_hang(int_queue work, int_queue results, int k) {
  for (int i = 0; i < k; ++i)
    results.put(work.get(), 30s);
  results.put(-1, 30s);
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(consume_some_then_hang);

// Takes `k` items and returns: its acks (batched) must be out before it ends.
int takes(int_queue work, int k) {
  for (int i = 0; i < k; ++i)
    if (work.get(30s) != i)
      return 1;
  return 0;
}
PROCTOR_TASK(takes);

// Owns a queue holding 5, hands its handle back, then waits to be killed.
void owns_a_queue(queue<int_queue> back) {
  int_queue mine{proctor::runtime::current()};
  mine.put(5);
  back.put(mine);
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(owns_a_queue);

caf::behavior puts_seven(caf::event_based_actor*) {
  return {[](int_queue q) {
    q.put(7, 30s);
    return 0;
  }};
}
PROCTOR_ACTOR(puts_seven);

// Another process's round trip for one string.
void moves_one_string(queue<std::string> in, queue<std::string> out) {
  out.put(in.get(std::chrono::seconds{30}));
}
PROCTOR_TASK(moves_one_string);

// Puts `n` strings of `bytes` bytes, numbered in their first bytes.
void puts_numbered_strings(queue<std::string> q, int n, int bytes) {
  for (int i = 0; i < n; ++i) {
    std::string item(static_cast<std::size_t>(bytes), 'a' + i % 26);
    std::snprintf(item.data(), item.size(), "%06d", i);
    q.put(item);
  }
}
PROCTOR_TASK(puts_numbered_strings);

void joins_after_task_done(proctor::joinable_queue<int> q, int n) {
  for (int i = 0; i < n; ++i) {
    q.get();
    q.task_done();
  }
}
PROCTOR_TASK(joins_after_task_done);

} // namespace

TEST(queue, fifo_and_sizes_in_one_process) {
  int_queue q{test_runtime(), 3};
  EXPECT_TRUE(q.empty());
  q.put(1);
  q.put(2);
  q.put(3);
  EXPECT_EQ(q.qsize(), 3u);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
  EXPECT_TRUE(q.empty());
}

TEST(queue, timeouts_and_nowait_leave_the_queue_unchanged) {
  int_queue q{test_runtime(), 1};
  EXPECT_THROW(q.get(20ms), proctor::queue_empty);
  EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
  q.put(1);
  EXPECT_THROW(q.put(2, 20ms), proctor::queue_full);
  EXPECT_THROW(q.put_nowait(3), proctor::queue_full);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get(limit), 1);
  EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
}

TEST(queue, strings_and_structures_pass_intact) {
  queue<std::vector<std::string>> q{test_runtime()};
  std::vector<std::string> item{"a", "", std::string(1000, 'z')};
  q.put(item);
  EXPECT_EQ(q.get(limit), item);
}

TEST(queue, shutdown_lets_consumers_drain_then_fails_clearly) {
  int_queue q{test_runtime()};
  q.put(1);
  q.shutdown();
  EXPECT_EQ(error_of([&] { q.put(2); }), proctor::errc::closed);
  EXPECT_EQ(q.get(limit), 1);
  EXPECT_EQ(error_of([&] { q.get(); }), proctor::errc::closed);
}

TEST(queue, many_producers_and_consumers_see_every_item_exactly_once) {
  auto& rt = test_runtime();
  int_queue work{rt, 100};
  int_queue results{rt};
  constexpr int producers = 3;
  constexpr int per_producer = 2000;
  std::vector<std::unique_ptr<process>> procs;
  for (int i = 0; i < producers; ++i)
    procs.push_back(std::make_unique<process>(rt, produce, work, i * per_producer,
                                              per_producer));
  for (int i = 0; i < 2; ++i)
    procs.push_back(std::make_unique<process>(rt, consume_into, work, results));
  for (auto& p : procs)
    p->start();
  for (int i = 0; i < producers; ++i) {
    ASSERT_TRUE(procs[i]->join(limit));
    ASSERT_EQ(procs[i]->exitcode(), 0);
  }
  work.shutdown();
  std::multiset<int> seen;
  for (int i = 0; i < producers * per_producer; ++i)
    seen.insert(results.get(limit));
  for (int i = 0; i < producers * per_producer; ++i)
    ASSERT_EQ(seen.count(i), 1u) << i;
  for (auto& p : procs)
    ASSERT_TRUE(p->join(limit));
  EXPECT_THROW(results.get_nowait(), proctor::queue_empty);
}

TEST(queue, a_killed_consumer_gives_back_what_it_did_not_return_in_order) {
  auto& rt = test_runtime();
  int_queue work{rt};
  int_queue results{rt};
  constexpr int n = 100;
  for (int i = 0; i < n; ++i)
    work.put(i);
  process consumer{rt, consume_some_then_hang, work, results, 5};
  consumer.start();
  std::vector<int> taken;
  for (int x = results.get(limit); x != -1; x = results.get(limit))
    taken.push_back(x);
  EXPECT_EQ(taken, (std::vector<int>{0, 1, 2, 3, 4}));
  consumer.kill();
  ASSERT_TRUE(consumer.join(limit));
  // join() returns once the queue has been told of the death.
  // Everything it fetched ahead is back at the head, in order.
  for (int i = 5; i < n; ++i)
    ASSERT_EQ(work.get(limit), i);
  EXPECT_THROW(work.get_nowait(), proctor::queue_empty);
}

TEST(queue, the_owners_death_fails_blocked_and_later_calls) {
  auto& rt = test_runtime();
  queue<int_queue> back{rt};
  process owner{rt, owns_a_queue, back};
  owner.start();
  auto theirs = back.get(limit);
  EXPECT_EQ(theirs.get(limit), 5);
  auto blocked = std::async(std::launch::async, [&] { return error_of([&] { theirs.get(); }); });
  EXPECT_EQ(blocked.wait_for(100ms), std::future_status::timeout);
  owner.kill();
  ASSERT_EQ(blocked.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(blocked.get(), proctor::errc::owner_gone);
  EXPECT_EQ(error_of([&] { theirs.put(1); }), proctor::errc::owner_gone);
  ASSERT_TRUE(owner.join(limit));
}

TEST(queue, a_handle_travels_inside_a_message) {
  auto& rt = test_runtime();
  int_queue q{rt};
  auto helper = rt.spawn_in_process(puts_seven);
  caf::scoped_actor self{rt.system()};
  self->request(helper, limit, q).receive([](int) {}, [&](caf::error& err) {
    ADD_FAILURE() << rt.system().render(err);
  });
  EXPECT_EQ(q.get(limit), 7);
  self->send_exit(helper, caf::exit_reason::user_shutdown);
}

TEST(queue, sixteen_mebibyte_items_pass_and_oversized_ones_are_refused) {
  auto& rt = test_runtime();
  queue<std::string> there{rt};
  queue<std::string> back{rt};
  std::string big(16u << 20, 'x');
  big[12345] = 'y';
  process mover{rt, moves_one_string, there, back};
  mover.start();
  there.put(big);
  EXPECT_EQ(back.get(limit), big);
  ASSERT_TRUE(mover.join(limit));
  std::string huge(65u << 20, 'h');
  EXPECT_EQ(error_of([&] { there.put(huge); }), proctor::errc::frame_too_large);
  EXPECT_TRUE(there.empty());
}

TEST(queue, joinable_task_done_and_join) {
  auto& rt = test_runtime();
  proctor::joinable_queue<int> q{rt};
  EXPECT_EQ(error_of([&] { q.task_done(); }), proctor::errc::invalid_state);
  for (int i = 0; i < 10; ++i)
    q.put(i);
  EXPECT_FALSE(q.join(10ms));
  process worker{rt, joins_after_task_done, q, 10};
  worker.start();
  EXPECT_TRUE(q.join(limit));
  ASSERT_TRUE(worker.join(limit));
  EXPECT_EQ(worker.exitcode(), 0);
}

namespace {

void fills_then_reports(int_queue q, int_queue done, int n) {
  for (int i = 0; i < n; ++i)
    q.put(i);
  done.put(1);
}
PROCTOR_TASK(fills_then_reports);

} // namespace

TEST(queue, a_full_bounded_queue_holds_a_producer_back) {
  auto& rt = test_runtime();
  int_queue q{rt, 3};
  int_queue done{rt};
  process producer{rt, fills_then_reports, q, done, 10};
  producer.start();
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (q.qsize() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(q.qsize(), 3u);
  EXPECT_THROW(done.get(200ms), proctor::queue_empty); // still blocked
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(q.get(limit), i);
  EXPECT_EQ(done.get(limit), 1);
  ASSERT_TRUE(producer.join(limit));
}

TEST(queue, pipelined_puts_arrive_whole_and_in_order_across_many_batches) {
  auto& rt = test_runtime();
  queue<std::string> q{rt};
  constexpr int n = 300;
  constexpr int bytes = 64 * 1024; // far more than one batch holds
  process producer{rt, puts_numbered_strings, q, n, bytes};
  producer.start();
  for (int i = 0; i < n; ++i) {
    auto item = q.get(limit);
    ASSERT_EQ(item.size(), static_cast<std::size_t>(bytes));
    ASSERT_EQ(std::stoi(item.substr(0, 6)), i);
    ASSERT_EQ(item.back(), 'a' + i % 26);
  }
  ASSERT_TRUE(producer.join(limit));
  EXPECT_EQ(producer.exitcode(), 0);
  EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
}

TEST(queue, puts_of_a_handle_dropped_at_once_are_not_lost) {
  auto& rt = test_runtime();
  int_queue q{rt};
  {
    int_queue copy = q;
    for (int i = 0; i < 100; ++i)
      copy.put(i);
  }
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(q.get(limit), i);
}

/// What the queue actor `queue` says it holds; 1 if it does not answer.
std::uint64_t size_of(caf::scoped_actor& self, const caf::actor& queue) {
  std::uint64_t size = 1;
  self->request(queue, limit, proctor::internal::size_atom::value)
    .receive([&](std::uint64_t n, std::uint64_t, bool) { size = n; },
             [&](caf::error& err) { FAIL() << self->system().render(err); });
  return size;
}

TEST(queue, a_malformed_put_batch_is_refused_and_the_queue_is_unchanged) {
  auto& rt = test_runtime();
  auto actor = proctor::internal::spawn_queue(rt.system(), 0);
  caf::scoped_actor self{rt.system()};
  proctor::internal::item_bytes garbage{'\x7f', '\x01', '\x02'};
  self->send(actor, proctor::internal::put_batch_atom::value, garbage,
             proctor::internal::segment_list{});
  caf::error failure;
  std::uint32_t count = 1;
  self->receive(
    [&](proctor::internal::put_done_atom, caf::error& e, std::uint32_t n) {
      failure = std::move(e);
      count = n;
    },
    caf::after(limit) >> [] { FAIL() << "no answer to a malformed batch"; });
  EXPECT_EQ(failure.code(), static_cast<std::uint8_t>(proctor::errc::malformed_payload));
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(size_of(self, actor), 0u);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(queue, a_consumer_that_returns_has_none_of_its_items_delivered_again) {
  auto& rt = test_runtime();
  int_queue work{rt};
  constexpr int n = 100;
  for (int i = 0; i < n; ++i)
    work.put(i);
  process consumer{rt, takes, work, 7};
  consumer.start();
  ASSERT_TRUE(consumer.join(limit));
  EXPECT_EQ(consumer.exitcode(), 0);
  // What it took is gone for good; what it fetched ahead is back, in order.
  for (int i = 7; i < n; ++i)
    ASSERT_EQ(work.get(limit), i);
  EXPECT_THROW(work.get_nowait(), proctor::queue_empty);
}

TEST(queue, a_malformed_ack_batch_is_refused_and_the_queue_is_unchanged) {
  auto& rt = test_runtime();
  auto actor = proctor::internal::spawn_queue(rt.system(), 0);
  caf::scoped_actor self{rt.system()};
  proctor::internal::item_bytes garbage{'\x7f', '\x01', '\x02'};
  caf::error failure;
  self->request(actor, limit, proctor::internal::ack_atom::value, garbage)
    .receive([] { FAIL() << "a malformed ack batch was taken"; },
             [&](caf::error& err) { failure = std::move(err); });
  EXPECT_EQ(failure.code(), static_cast<std::uint8_t>(proctor::errc::malformed_payload));
  EXPECT_EQ(size_of(self, actor), 0u);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(queue, what_one_thread_fetched_ahead_serves_another_thread) {
  auto& rt = test_runtime();
  int_queue q{rt};
  for (int i = 0; i < 10; ++i)
    q.put(i);
  EXPECT_EQ(std::async(std::launch::async, [&] { return q.get(limit); }).get(), 0);
  auto rest = std::async(std::launch::async, [&] {
    std::vector<int> got;
    for (int i = 1; i < 10; ++i)
      got.push_back(q.get(limit));
    return got;
  });
  EXPECT_EQ(rest.get(), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
}

TEST(queue, a_bounded_queues_items_fetched_by_one_thread_serve_another) {
  auto& rt = test_runtime();
  int_queue q{rt, 10};
  for (int i = 0; i < 10; ++i)
    q.put(i);
  EXPECT_EQ(std::async(std::launch::async, [&] { return q.get(limit); }).get(), 0);
  EXPECT_EQ(q.qsize(), 9u);
  for (int i = 1; i < 10; ++i)
    EXPECT_EQ(std::async(std::launch::async, [&] { return q.get(limit); }).get(), i);
  EXPECT_TRUE(q.empty());
}
