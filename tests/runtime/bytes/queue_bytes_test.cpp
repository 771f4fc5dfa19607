// proctor::bytes as queue items: shared memory between the processes of a
// host, whole after a consumer or a producer is killed, and refused when a
// batch names shared memory that did not come with it.
#include "proctor/bytes.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "actors/queue/queue_actor.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/bytes_patterns.hpp"
#include "tests/support/descriptors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"
#include "transport/base/sealed_segment.hpp"

using proctor::bytes;
using proctor::testing::describe;
using proctor::testing::eventually;
using proctor::testing::pattern;
using proctor::testing::segments_held;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = std::chrono::seconds{30};
constexpr std::size_t item_size = 200000;

} // namespace

/// Puts `count` patterns to `out`, then describes what comes from `in`.
void queue_bytes_out(proctor::queue<bytes> out, proctor::queue<bytes> in, int count) {
  for (int i = 0; i < count; ++i)
    out.put(pattern(item_size, i));
  auto back = in.get(limit);
  out.put(bytes{describe(back)});
}
PROCTOR_TASK(queue_bytes_out);

/// Takes one item, then dies with what it fetched ahead unreturned.
void take_one_and_die(proctor::queue<bytes> q) {
  q.get(limit);
  std::raise(SIGKILL);
}
PROCTOR_TASK(take_one_and_die);

/// Puts patterns until it is killed.
void put_until_killed(proctor::queue<bytes> q) {
  for (int i = 0;; ++i)
    q.put(pattern(item_size, i % 1000));
}
PROCTOR_TASK(put_until_killed);

TEST(queue_bytes, items_travel_as_shared_memory_both_ways) {
  auto& rt = test_runtime();
  proctor::queue<bytes> from_child{rt};
  proctor::queue<bytes> to_child{rt};
  constexpr int count = 20;
  proctor::process child{rt, queue_bytes_out, from_child, to_child, count};
  child.start();
  for (int i = 0; i < count; ++i) {
    auto got = from_child.get(limit);
    EXPECT_TRUE(got.shared()) << i; // mapped, not received inline
    EXPECT_TRUE(got == pattern(item_size, i)) << i;
  }
  auto big = pattern(1 << 20, 77);
  to_child.put(big);
  EXPECT_EQ(from_child.get(limit).view(), describe(big));
  ASSERT_TRUE(child.join(limit));
  EXPECT_EQ(child.exitcode(), std::optional<int>{0});
}

TEST(queue_bytes, a_killed_consumer_gives_back_what_it_fetched_whole) {
  auto& rt = test_runtime();
  auto held = segments_held();
  {
    proctor::queue<bytes> q{rt};
    constexpr int count = 10;
    for (int i = 0; i < count; ++i)
      q.put(pattern(item_size, i));
    proctor::process consumer{rt, take_one_and_die, q};
    consumer.start();
    ASSERT_TRUE(consumer.join(limit));
    EXPECT_EQ(consumer.exitcode(), std::optional<int>{-SIGKILL});
    // The first went to the consumer; whether its ack left before the kill
    // decides whether it comes back. Every other item does, intact.
    auto first = q.get(limit);
    int next = first == pattern(item_size, 0) ? 1 : 0;
    EXPECT_TRUE(next == 1 || first == pattern(item_size, 1));
    if (next == 0)
      next = 2;
    for (int i = next; i < count; ++i) {
      auto got = q.get(limit);
      EXPECT_TRUE(got.shared()) << i;
      EXPECT_TRUE(got == pattern(item_size, i)) << i;
    }
    EXPECT_THROW(q.get_nowait(), proctor::queue_empty);
  }
  EXPECT_TRUE(eventually([&] { return segments_held() == held; }))
    << segments_held() << " left, " << held << " before";
}

TEST(queue_bytes, a_killed_producer_leaves_whole_items_and_nothing_else) {
  auto& rt = test_runtime();
  auto held = segments_held();
  proctor::queue<bytes> q{rt, 8};
  proctor::process producer{rt, put_until_killed, q};
  producer.start();
  // Once the queue is full the producer waits for room: kill it there,
  // with puts in flight.
  ASSERT_TRUE(eventually([&] { return q.full(); }));
  producer.kill();
  ASSERT_TRUE(producer.join(limit));
  // Its pipelined puts that reached the queue are in it for good: every
  // item is whole, in order, and once taken leaves nothing behind.
  int next = 0;
  auto drain = [&] {
    for (;;) {
      try {
        auto got = q.get_nowait();
        EXPECT_TRUE(got == pattern(item_size, next)) << next;
        ++next;
      } catch (const proctor::queue_empty&) {
        return;
      }
    }
  };
  EXPECT_TRUE(eventually([&] {
    drain();
    return segments_held() == held;
  })) << segments_held() << " left, " << held << " before";
  EXPECT_GE(next, 8);
}

namespace {

/// Sends a put batch of `records` and `segments` to a new queue: the error
/// it answers with, and how many items it holds afterwards.
std::pair<caf::error, std::uint64_t> put_batch_to_new_queue(
  std::vector<char> records, proctor::internal::segment_list segments) {
  using namespace proctor::internal;
  auto& rt = test_runtime();
  auto actor = spawn_queue(rt.system(), 0);
  caf::scoped_actor self{rt.system()};
  self->send(actor, put_batch_atom::value, std::move(records), std::move(segments));
  caf::error failure;
  self->receive(
    [&](put_done_atom, caf::error& e, std::uint32_t) { failure = std::move(e); },
    caf::after(limit) >> [] { FAIL() << "no answer to a lying batch"; });
  std::uint64_t size = 1;
  self->request(actor, limit, size_atom::value)
    .receive([&](std::uint64_t n, std::uint64_t, bool) { size = n; },
             [&](caf::error& err) { FAIL() << self->system().render(err); });
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  return {std::move(failure), size};
}

/// One item that owns one segment of 100000 bytes.
std::vector<proctor::internal::queue_item> item_with_a_segment() {
  std::vector<proctor::internal::queue_item> items(1);
  items[0].data = {'x'};
  std::string content(100000, 'q');
  items[0].segments.push_back(
    proctor::internal::sealed_segment::copy_of(std::as_bytes(std::span<const char>{content})));
  return items;
}

} // namespace

TEST(queue_bytes, a_batch_naming_shared_memory_that_did_not_come_is_refused) {
  using namespace proctor::internal;
  auto items = item_with_a_segment();
  auto batch = encode_items(items);
  auto [failure, size] = put_batch_to_new_queue(batch.records, segment_list{});
  EXPECT_EQ(failure.code(), static_cast<std::uint8_t>(proctor::errc::malformed_payload));
  EXPECT_EQ(size, 0u);
}

TEST(queue_bytes, a_batch_with_shared_memory_no_item_owns_is_refused) {
  using namespace proctor::internal;
  auto items = item_with_a_segment();
  auto batch = encode_items(items);
  auto extra = item_with_a_segment();
  batch.segments.refs.push_back(extra[0].segments[0]);
  auto [failure, size] = put_batch_to_new_queue(batch.records, batch.segments);
  EXPECT_EQ(failure.code(), static_cast<std::uint8_t>(proctor::errc::malformed_payload));
  EXPECT_EQ(size, 0u);
}
