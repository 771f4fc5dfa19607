#include "transport/frame.hpp"

#include <cstring>

#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

void put_u32(std::byte* out, std::uint32_t x) noexcept {
  out[0] = std::byte(x >> 24);
  out[1] = std::byte(x >> 16);
  out[2] = std::byte(x >> 8);
  out[3] = std::byte(x);
}

std::uint32_t get_u32(const std::byte* in) noexcept {
  return (std::uint32_t(in[0]) << 24) | (std::uint32_t(in[1]) << 16)
         | (std::uint32_t(in[2]) << 8) | std::uint32_t(in[3]);
}

} // namespace

bool is_known_kind(std::uint8_t kind) noexcept {
  switch (static_cast<frame_kind>(kind)) {
    case frame_kind::hello:
    case frame_kind::proof:
    case frame_kind::refuse:
    case frame_kind::heartbeat:
    case frame_kind::message:
    case frame_kind::monitor:
    case frame_kind::down:
    case frame_kind::node_down:
    case frame_kind::run_task:
    case frame_kind::request:
    case frame_kind::reply:
      return true;
  }
  return false;
}

header_bytes encode_header(const frame_header& hdr) noexcept {
  header_bytes out{};
  put_u32(out.data(), frame_magic);
  out[4] = std::byte{hdr.version};
  out[5] = std::byte(hdr.kind);
  out[6] = std::byte(hdr.flags >> 8);
  out[7] = std::byte(hdr.flags);
  put_u32(out.data() + 8, hdr.length);
  return out;
}

std::error_code decode_header(std::span<const std::byte, frame_header_size> in,
                              std::uint32_t max_frame_size,
                              frame_header& out) noexcept {
  if (get_u32(in.data()) != frame_magic)
    return errc::bad_magic;
  auto version = std::to_integer<std::uint8_t>(in[4]);
  if (version != protocol_version)
    return errc::unsupported_version;
  auto kind = std::to_integer<std::uint8_t>(in[5]);
  if (!is_known_kind(kind))
    return errc::unknown_frame_kind;
  auto length = get_u32(in.data() + 8);
  if (length > max_frame_size)
    return errc::frame_too_large;
  out.version = version;
  out.kind = static_cast<frame_kind>(kind);
  out.flags = static_cast<std::uint16_t>(
    (std::to_integer<unsigned>(in[6]) << 8) | std::to_integer<unsigned>(in[7]));
  out.length = length;
  return {};
}

void append_frame(std::vector<char>& out, frame_kind kind,
                  std::span<const char> payload) {
  frame_header hdr;
  hdr.kind = kind;
  hdr.length = static_cast<std::uint32_t>(payload.size());
  auto bytes = encode_header(hdr);
  auto at = out.size();
  out.resize(at + bytes.size() + payload.size());
  std::memcpy(out.data() + at, bytes.data(), bytes.size());
  if (!payload.empty())
    std::memcpy(out.data() + at + bytes.size(), payload.data(), payload.size());
}

} // namespace proctor::internal
