#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace proctor::internal {

/// "PRCT" in network byte order opens every frame.
constexpr std::uint32_t frame_magic = 0x50524354;

/// Bumped on any incompatible change of docs/PROTOCOL.md.
constexpr std::uint8_t protocol_version = 3;

constexpr std::size_t frame_header_size = 12;

/// 64 MiB: an upper bound on one message, not a buffer size.
constexpr std::uint32_t default_max_frame_size = 64u << 20;

/// 1 GiB: an upper bound on one shared-memory payload (a descriptor that
/// travels with a frame), which is mapped, never read through the socket.
constexpr std::uint64_t default_max_shared_size = 1ull << 30;

/// What a frame carries; docs/PROTOCOL.md describes each payload.
enum class frame_kind : std::uint8_t {
  hello = 1,      ///< handshake: version, nonce, node, fingerprint
  proof = 2,      ///< handshake: HMAC over both hellos
  refuse = 3,     ///< handshake or later: why the sender closes
  heartbeat = 4,  ///< after the handshake: the sender is alive (no payload)
  message = 16,   ///< an actor message
  monitor = 17,   ///< ask for a `down` when an actor terminates
  down = 18,      ///< an actor terminated
  node_down = 19, ///< a node reachable through the sender is gone
  run_task = 32,  ///< runtime: a worker's target and arguments
  request = 33,   ///< runtime: spawn or look up an actor in the receiver
  reply = 34,     ///< runtime: the answer to `request`
};

/// True for the values of frame_kind above.
bool is_known_kind(std::uint8_t kind) noexcept;

/// Handshake frames are the only ones accepted before the handshake ends.
inline bool is_handshake_kind(frame_kind kind) noexcept {
  return kind == frame_kind::hello || kind == frame_kind::proof
         || kind == frame_kind::refuse;
}

/// Frames that keep links and actors in order (monitors, downs, requests and
/// replies): small, and sent without waiting for room in the connection.
inline bool is_control_kind(frame_kind kind) noexcept {
  return kind != frame_kind::message && kind != frame_kind::run_task;
}

struct frame_header {
  std::uint8_t version = protocol_version;
  frame_kind kind = frame_kind::hello;
  std::uint16_t flags = 0;
  std::uint32_t length = 0; ///< payload bytes that follow the header
};

using header_bytes = std::array<std::byte, frame_header_size>;

/// Writes `hdr` in network byte order, magic first.
header_bytes encode_header(const frame_header& hdr) noexcept;

/// Validates and decodes a header. Checks, in this order: magic, version,
/// kind, length <= max_frame_size. Nothing is allocated: a caller allocates
/// the payload only after this returns no error.
std::error_code decode_header(std::span<const std::byte, frame_header_size> in,
                              std::uint32_t max_frame_size,
                              frame_header& out) noexcept;

/// Appends one frame (header, then `payload`) to `out`.
void append_frame(std::vector<char>& out, frame_kind kind, std::span<const char> payload);

} // namespace proctor::internal
