// proctor::bytes on the wire: inline where no descriptor can come along,
// shared memory where one can, and every lie about a segment refused.
#include "proctor/bytes.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "actors/wire/segments.hpp"
#include "proctor/detail/bounded_deserializer.hpp"
#include "transport/base/sealed_segment.hpp"

using namespace proctor::internal;
using proctor::bytes;
using proctor::byte_buffer;

namespace {

constexpr std::uint64_t limit = 1 << 26;

bytes filled(std::size_t n, char c) {
  byte_buffer buffer{n};
  std::memset(buffer.data(), c, n);
  return buffer.freeze();
}

std::vector<char> encode(std::vector<bytes>& xs, segment_sink* table = nullptr) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  std::optional<sink_scope> scope;
  if (table != nullptr)
    scope.emplace(*table);
  for (auto& x : xs)
    EXPECT_FALSE(sink(x));
  return buf;
}

/// Decodes `n` values, with the descriptors of `table` (duplicated, as if
/// they had come with a frame) if it is given.
caf::error decode(const std::vector<char>& buf, std::vector<bytes>& out, std::size_t n,
                  const segment_sink* table = nullptr) {
  bounded_deserializer source{nullptr, buf.data(), buf.size()};
  std::vector<scoped_fd> fds;
  if (table != nullptr)
    for (auto& passed : passed_fds(table->refs))
      fds.emplace_back(::dup(passed.fd));
  incoming_segments incoming{std::move(fds), limit};
  std::optional<source_scope> scope;
  if (table != nullptr)
    scope.emplace(incoming);
  out.resize(n);
  for (auto& x : out)
    if (auto err = source(x))
      return err;
  return caf::none;
}

/// The shared form by hand: segment `index`, announced `size`, a range.
std::vector<char> forged(std::uint32_t index, std::uint64_t size, std::uint64_t offset,
                         std::uint64_t length) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  std::uint8_t form = 1;
  EXPECT_FALSE(sink(form, index, size, offset, length));
  return buf;
}

caf::error decode_forged(const std::vector<char>& buf, std::vector<scoped_fd> fds) {
  bounded_deserializer source{nullptr, buf.data(), buf.size()};
  incoming_segments incoming{std::move(fds), limit};
  source_scope scope{incoming};
  bytes x;
  return source(x);
}

scoped_fd sealed_memfd(std::size_t n) {
  std::string content(n, 'f');
  auto segment = sealed_segment::copy_of(
    std::as_bytes(std::span<const char>{content.data(), content.size()}));
  return scoped_fd{::dup(segment->fd())};
}

} // namespace

TEST(bytes_codec, small_bytes_live_on_the_heap_and_large_ones_in_shared_memory) {
  EXPECT_FALSE(bytes{std::string_view{"small"}}.shared());
  EXPECT_TRUE(filled(bytes::shared_threshold, 'x').shared());
  EXPECT_TRUE(bytes{std::string(bytes::shared_threshold, 'y')}.shared());
  EXPECT_TRUE(bytes{}.empty());
  EXPECT_EQ(bytes{std::string_view{"abc"}}.view(), "abc");
}

TEST(bytes_codec, copies_and_slices_share_the_memory) {
  auto big = filled(200000, 'b');
  auto copy = big;
  EXPECT_EQ(copy.data(), big.data());
  auto part = big.slice(1000, 500);
  EXPECT_EQ(part.data(), big.data() + 1000);
  EXPECT_EQ(part.size(), 500u);
  EXPECT_TRUE(part.shared());
  EXPECT_EQ(big.slice(199990).size(), 10u);
  EXPECT_TRUE(big.slice(300000).empty());
}

TEST(bytes_codec, without_a_descriptor_table_everything_travels_inline) {
  std::vector<bytes> xs{bytes{std::string_view{"tiny"}}, filled(100000, 'i'), bytes{}};
  auto buf = encode(xs);
  EXPECT_GT(buf.size(), 100000u);
  std::vector<bytes> ys;
  ASSERT_FALSE(decode(buf, ys, 3));
  EXPECT_TRUE(ys == xs);
  EXPECT_FALSE(ys[1].shared()); // received inline: on the heap
}

TEST(bytes_codec, with_a_table_a_shared_value_travels_as_its_descriptor) {
  auto big = filled(300000, 's');
  std::vector<bytes> xs{big, big.slice(10, 20), bytes{std::string_view{"inline"}}};
  auto table = frame_sink();
  auto buf = encode(xs, &table);
  EXPECT_LT(buf.size(), 200u);
  EXPECT_EQ(table.refs.size(), 1u); // one segment, referred to twice
  std::vector<bytes> ys;
  ASSERT_FALSE(decode(buf, ys, 3, &table));
  EXPECT_TRUE(ys == xs);
  EXPECT_TRUE(ys[0].shared());
  EXPECT_NE(ys[0].data(), big.data()); // the receiver's own mapping
  EXPECT_EQ(ys[1].data(), ys[0].data() + 10);
}

TEST(bytes_codec, past_the_descriptor_limit_values_travel_inline) {
  std::vector<bytes> xs;
  for (int i = 0; i < 20; ++i)
    xs.push_back(filled(bytes::shared_threshold + i, static_cast<char>('a' + i)));
  auto table = frame_sink();
  auto buf = encode(xs, &table);
  EXPECT_EQ(table.refs.size(), 16u);
  std::vector<bytes> ys;
  ASSERT_FALSE(decode(buf, ys, 20, &table));
  EXPECT_TRUE(ys == xs);
}

TEST(bytes_codec, a_shared_value_where_no_descriptor_can_come_is_refused) {
  auto buf = forged(0, 100, 0, 100);
  bounded_deserializer source{nullptr, buf.data(), buf.size()};
  bytes x;
  EXPECT_TRUE(source(x));
}

TEST(bytes_codec, lies_about_a_segment_are_refused) {
  // An index past the descriptors that came.
  EXPECT_TRUE(decode_forged(forged(1, 100000, 0, 10), {}));
  std::vector<scoped_fd> one;
  one.push_back(sealed_memfd(100000));
  EXPECT_TRUE(decode_forged(forged(1, 100000, 0, 10), std::move(one)));
  // A size other than the segment's.
  std::vector<scoped_fd> two;
  two.push_back(sealed_memfd(100000));
  EXPECT_TRUE(decode_forged(forged(0, 200000, 0, 10), std::move(two)));
  // A range outside the segment, and one whose end overflows.
  std::vector<scoped_fd> three;
  three.push_back(sealed_memfd(100000));
  EXPECT_TRUE(decode_forged(forged(0, 100000, 99999, 2), std::move(three)));
  std::vector<scoped_fd> four;
  four.push_back(sealed_memfd(100000));
  EXPECT_TRUE(decode_forged(forged(0, 100000, 1, ~std::uint64_t{0}), std::move(four)));
  // A descriptor that is not a sealed memfd.
  std::vector<scoped_fd> five;
  five.emplace_back(::dup(0));
  EXPECT_TRUE(decode_forged(forged(0, 100000, 0, 10), std::move(five)));
  // And the truth, for contrast.
  std::vector<scoped_fd> six;
  six.push_back(sealed_memfd(100000));
  EXPECT_FALSE(decode_forged(forged(0, 100000, 5, 10), std::move(six)));
}

TEST(bytes_codec, an_inline_length_longer_than_the_payload_allocates_nothing) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  std::uint8_t form = 0;
  std::size_t huge = std::size_t{1} << 31; // the format's lengths are 32 bits
  EXPECT_FALSE(sink(form));
  EXPECT_FALSE(sink.begin_sequence(huge));
  bounded_deserializer source{nullptr, buf.data(), buf.size()};
  bytes x;
  EXPECT_TRUE(source(x));
}
