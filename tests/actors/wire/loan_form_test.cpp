// A pool worker's results on the wire: lent only in a frame to the parent
// that takes loans, refused anywhere else, and given back at once when the
// frame never went.
#include "actors/wire/loans.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "actors/wire/segments.hpp"
#include "proctor/detail/bounded_deserializer.hpp"
#include "transport/base/fd_passing.hpp"
#include "transport/base/segment_pool.hpp"

using namespace proctor::internal;

namespace {

constexpr std::size_t size = 1 << 18;
constexpr std::uint64_t limit = 1 << 26;

std::shared_ptr<const sealed_segment> written(segment_pool& pool, char c) {
  auto slot = pool.take(size);
  std::memset(slot->writable(), c, size);
  auto value = std::make_shared<pooled_segment>(slot, size);
  slot->drop(); // the writer's hold
  return value;
}

/// `list` encoded into a frame whose segments gather in `frame`.
std::vector<char> encoded(segment_list list, segment_sink& frame) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  sink_scope scope{frame};
  EXPECT_FALSE(save_segments(sink, list));
  return buf;
}

/// Decodes a list from `buf`, with the descriptors of `frame` duplicated
/// as if they had come along, and loans taken by `desk` if any.
caf::error decoded(const std::vector<char>& buf, const segment_sink& frame, loan_desk* desk,
                   segment_list& out) {
  std::vector<scoped_fd> fds;
  for (auto& passed : passed_fds(frame.refs))
    fds.emplace_back(::dup(passed.fd));
  incoming_segments incoming{std::move(fds), limit, desk};
  source_scope scope{incoming};
  bounded_deserializer source{nullptr, buf.data(), buf.size()};
  return load_segments(source, out);
}

bool all(const std::shared_ptr<const sealed_segment>& segment, char c) {
  for (auto b : segment->content())
    if (b != std::byte(c))
      return false;
  return segment->content().size() == size;
}

} // namespace

TEST(loan_form, results_to_the_parent_are_lent_and_given_back) {
  segment_pool pool;
  auto value = written(pool, 'a');
  auto slot = *value->pooled();
  segment_sink frame = frame_sink();
  frame.may_lend = true;
  // Mentioned twice, lent once.
  auto buf = encoded(segment_list{{value, value}, true}, frame);
  ASSERT_EQ(frame.refs.size(), 1u);
  EXPECT_TRUE(frame.lent(0));
  EXPECT_FALSE(slot->graduated());
  std::vector<std::uint64_t> given_back;
  auto desk = loan_desk::make([&](std::uint64_t id) { given_back.push_back(id); });
  segment_list got;
  ASSERT_FALSE(decoded(buf, frame, desk.get(), got));
  ASSERT_EQ(got.refs.size(), 2u);
  EXPECT_TRUE(got.refs[0]->borrowed());
  EXPECT_TRUE(all(got.refs[1], 'a'));
  got = {};
  EXPECT_EQ(given_back, (std::vector<std::uint64_t>{slot->id()}));
  // Once given back and no longer read, the slot is free again.
  pool.returned(slot->id());
  value.reset();
  frame = {};
  EXPECT_EQ(pool.free_slots(), 1u);
}

TEST(loan_form, a_loan_where_no_worker_lends_is_refused) {
  segment_pool pool;
  auto value = written(pool, 'b');
  segment_sink frame = frame_sink();
  frame.may_lend = true;
  auto buf = encoded(segment_list{{value}, true}, frame);
  segment_list got;
  // A link without a desk: a peer that is not a worker this process started.
  EXPECT_TRUE(decoded(buf, frame, nullptr, got));
  frame.cancel_loans();
}

TEST(loan_form, anywhere_but_to_the_parent_results_are_sealed_for_good) {
  segment_pool pool;
  auto value = written(pool, 'c');
  auto slot = *value->pooled();
  segment_sink frame = frame_sink(); // may not lend: another peer
  auto buf = encoded(segment_list{{value}, true}, frame);
  EXPECT_FALSE(frame.lent(0));
  EXPECT_TRUE(slot->graduated());
  segment_list got;
  ASSERT_FALSE(decoded(buf, frame, nullptr, got));
  ASSERT_EQ(got.refs.size(), 1u);
  EXPECT_FALSE(got.refs[0]->borrowed());
  EXPECT_TRUE(all(got.refs[0], 'c'));
}

TEST(loan_form, one_descriptor_as_a_loan_and_as_sealed_memory_is_refused) {
  segment_pool pool;
  auto value = written(pool, 'd');
  auto slot = *value->pooled();
  segment_sink frame = frame_sink();
  frame.may_lend = true;
  auto buf = encoded(segment_list{{value}, true}, frame);
  // The same descriptor 0 again, forged in the sealed form.
  std::vector<char> forged;
  caf::binary_serializer sink{nullptr, forged};
  std::size_t two = 2;
  std::uint8_t loan = 2;
  std::uint8_t sealed = 1;
  std::uint32_t index = 0;
  std::uint64_t capacity = slot->capacity();
  std::uint64_t id = slot->id();
  std::uint64_t length = size;
  ASSERT_FALSE(sink.begin_sequence(two));
  ASSERT_FALSE(sink(loan, index, capacity, id, length));
  ASSERT_FALSE(sink(sealed, index, length));
  ASSERT_FALSE(sink.end_sequence());
  std::vector<std::uint64_t> given_back;
  auto desk = loan_desk::make([&](std::uint64_t id) { given_back.push_back(id); });
  segment_list got;
  EXPECT_TRUE(decoded(forged, frame, desk.get(), got));
  got = {};
  // The loan that decoded goes back with the list.
  EXPECT_EQ(given_back, (std::vector<std::uint64_t>{slot->id()}));
  frame.cancel_loans();
}

TEST(loan_form, a_frame_never_sent_gives_its_loans_back) {
  segment_pool pool;
  auto value = written(pool, 'e');
  {
    segment_sink frame = frame_sink();
    frame.may_lend = true;
    encoded(segment_list{{value}, true}, frame);
    EXPECT_TRUE(frame.lent(0));
    frame.cancel_loans();
  }
  value.reset();
  EXPECT_EQ(pool.free_slots(), 1u);
}
