#include "transport/frame.hpp"

#include <gtest/gtest.h>

#include "proctor/errc.hpp"

using namespace proctor::internal;
using proctor::errc;

namespace {

std::error_code decode(const header_bytes& bytes, frame_header& out,
                       std::uint32_t max = 1024) {
  return decode_header(std::span<const std::byte, frame_header_size>{bytes}, max, out);
}

} // namespace

TEST(frame, header_round_trip_in_network_order) {
  frame_header hdr;
  hdr.kind = frame_kind::message;
  hdr.flags = 0x0102;
  hdr.length = 1000;
  auto bytes = encode_header(hdr);
  EXPECT_EQ(bytes[0], std::byte{'P'});
  EXPECT_EQ(bytes[3], std::byte{'T'});
  EXPECT_EQ(bytes[4], std::byte{protocol_version});
  EXPECT_EQ(bytes[10], std::byte{0x03});
  EXPECT_EQ(bytes[11], std::byte{0xe8});
  frame_header out;
  ASSERT_FALSE(decode(bytes, out));
  EXPECT_EQ(out.kind, frame_kind::message);
  EXPECT_EQ(out.flags, 0x0102);
  EXPECT_EQ(out.length, 1000u);
}

TEST(frame, garbage_is_bad_magic) {
  header_bytes bytes;
  bytes.fill(std::byte{0x41});
  frame_header out;
  EXPECT_EQ(decode(bytes, out), errc::bad_magic);
}

TEST(frame, other_version_is_refused) {
  auto bytes = encode_header({});
  bytes[4] = std::byte{protocol_version + 1};
  frame_header out;
  EXPECT_EQ(decode(bytes, out), errc::unsupported_version);
}

TEST(frame, unknown_kind_is_refused) {
  auto bytes = encode_header({});
  for (int kind : {0, 5, 15, 20, 21, 31, 35, 255}) {
    bytes[5] = std::byte(kind);
    frame_header out;
    EXPECT_EQ(decode(bytes, out), errc::unknown_frame_kind) << kind;
  }
}

TEST(frame, length_over_the_limit_is_refused_before_allocation) {
  frame_header hdr;
  hdr.kind = frame_kind::message;
  hdr.length = 0xffffffff;
  frame_header out;
  EXPECT_EQ(decode(encode_header(hdr), out), errc::frame_too_large);
  hdr.length = 1024;
  EXPECT_FALSE(decode(encode_header(hdr), out));
  hdr.length = 1025;
  EXPECT_EQ(decode(encode_header(hdr), out), errc::frame_too_large);
}
