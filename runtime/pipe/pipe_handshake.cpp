#include "runtime/pipe/pipe_handshake.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "actors/wire/codec.hpp"
#include "transport/frame.hpp"

namespace proctor::internal {

namespace {

/// What a pipe's hello carries where a link's carries its node id.
constexpr std::string_view pipe_marker = "proctor/pipe";

/// A hello is small; anything larger is not a peer of ours.
constexpr std::uint32_t max_hello = 4096;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline
                                                          - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
}

/// Waits until `fd` is ready for `events`; false at the deadline.
bool ready(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR)
      continue;
    return n == 1;
  }
}

std::error_code send_all(int fd, const std::vector<char>& bytes,
                         std::chrono::steady_clock::time_point deadline, std::string& detail) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    if (!ready(fd, POLLOUT, deadline)) {
      detail = "the peer did not take the handshake in time";
      return errc::handshake_timeout;
    }
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n <= 0) {
      detail = std::string{"send: "} + std::strerror(errno);
      return errc::connection_closed;
    }
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code recv_exact(int fd, char* out, std::size_t size,
                           std::chrono::steady_clock::time_point deadline, std::string& detail) {
  std::size_t got = 0;
  while (got < size) {
    if (!ready(fd, POLLIN, deadline)) {
      detail = "the peer did not finish the handshake in time";
      return errc::handshake_timeout;
    }
    auto n = ::recv(fd, out + got, size - got, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n <= 0) {
      detail = n == 0 ? "the peer closed during the handshake"
                      : std::string{"recv: "} + std::strerror(errno);
      return errc::connection_closed;
    }
    got += static_cast<std::size_t>(n);
  }
  return {};
}

/// Reads one handshake frame of `kind`; its payload goes to `payload`.
std::error_code recv_frame(int fd, frame_kind kind, std::vector<char>& payload,
                           std::chrono::steady_clock::time_point deadline, std::string& detail) {
  header_bytes raw;
  if (auto ec = recv_exact(fd, reinterpret_cast<char*>(raw.data()), raw.size(), deadline, detail))
    return ec;
  frame_header hdr;
  if (auto ec = decode_header(raw, max_hello, hdr)) {
    detail = "a handshake frame does not parse";
    return ec;
  }
  if (hdr.kind != kind) {
    detail = "the peer sent another frame than the handshake's";
    return errc::protocol_violation;
  }
  payload.resize(hdr.length);
  return recv_exact(fd, payload.data(), payload.size(), deadline, detail);
}

/// Sends our frame of `kind` with `mine`, then reads the peer's frame of the
/// same kind into `theirs`.
std::error_code exchange(int fd, frame_kind kind, std::span<const char> mine,
                         std::vector<char>& theirs,
                         std::chrono::steady_clock::time_point deadline, std::string& detail) {
  std::vector<char> frame;
  append_frame(frame, kind, mine);
  if (auto ec = send_all(fd, frame, deadline, detail))
    return ec;
  return recv_frame(fd, kind, theirs, deadline, detail);
}

} // namespace

std::error_code pipe_handshake(int fd, const handshake_keys& keys, handshake_role role,
                               std::chrono::steady_clock::time_point deadline,
                               std::string& detail) {
  hello_payload mine;
  mine.role = static_cast<std::uint8_t>(role);
  mine.nonce = make_nonce();
  mine.pid = static_cast<std::uint32_t>(::getpid());
  mine.node.assign(pipe_marker.begin(), pipe_marker.end());
  auto my_hello = encode(mine);
  std::vector<char> peer_hello;
  if (auto ec = exchange(fd, frame_kind::hello, my_hello, peer_hello, deadline, detail))
    return ec;
  hello_payload peer;
  if (!decode(peer_hello, peer)) {
    detail = "the peer's hello does not decode";
    return errc::malformed_payload;
  }
  auto peer_role = role == handshake_role::initiator ? handshake_role::acceptor
                                                     : handshake_role::initiator;
  if (peer.role != static_cast<std::uint8_t>(peer_role) || peer.nonce == mine.nonce) {
    detail = "the peer's hello claims our role or our nonce (a reflection)";
    return errc::authentication_failed;
  }
  if (std::string_view{peer.node.data(), peer.node.size()} != pipe_marker) {
    detail = "the peer is not opening a pipe (a runtime's link?)";
    return errc::peer_refused;
  }
  bool initiating = role == handshake_role::initiator;
  auto transcript = transcript_hash(initiating ? my_hello : peer_hello,
                                    initiating ? peer_hello : my_hello);
  auto proof = compute_proof(keys, role, transcript);
  proof_payload out{{proof.begin(), proof.end()}};
  std::vector<char> peer_proof_bytes;
  if (auto ec = exchange(fd, frame_kind::proof, encode(out), peer_proof_bytes, deadline, detail))
    return ec;
  proof_payload peer_proof;
  auto expected = compute_proof(keys, peer_role, transcript);
  if (!decode(peer_proof_bytes, peer_proof) || !proof_matches(expected, peer_proof.mac)) {
    detail = "the peer does not know the authkey";
    return errc::authentication_failed;
  }
  return {};
}

} // namespace proctor::internal
