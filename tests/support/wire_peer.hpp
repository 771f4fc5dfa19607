#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transport/frame.hpp"
#include "transport/handshake.hpp"

namespace proctor::testing {

/// One frame as read off the wire.
struct raw_frame {
  internal::frame_kind kind{};
  std::vector<char> payload;
};

/// How a connection ended, as the raw side saw it.
struct ending {
  bool closed = false;              ///< the server closed (EOF) in time
  std::optional<std::uint8_t> code; ///< the errc of its refuse frame, if any
  std::vector<raw_frame> before;    ///< other frames that came first
};

/// A TCP connection that speaks proctor's frames by hand, as a peer without
/// the library (or an attacker) would. Every read has a deadline.
class wire_peer {
public:
  /// Connects to 127.0.0.1:port; fd() is -1 if that failed.
  explicit wire_peer(std::uint16_t port);
  ~wire_peer();

  wire_peer(const wire_peer&) = delete;
  wire_peer& operator=(const wire_peer&) = delete;

  int fd() const noexcept {
    return fd_;
  }

  /// Writes one frame; false if the socket refused it.
  bool write_frame(internal::frame_kind kind, std::span<const char> payload);

  /// The next whole frame, or nothing on EOF, error or timeout.
  std::optional<raw_frame> read_frame(std::chrono::milliseconds timeout);

  /// Reads until the server closes or `timeout` passes.
  ending wait_end(std::chrono::milliseconds timeout);

private:
  bool fill(std::size_t n, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::vector<char> buf_;
};

/// The hello a runtime of this binary would send, for a made-up node.
internal::hello_payload hello_as(internal::handshake_role role);

std::vector<char> encode_hello(const internal::hello_payload& hello);
std::optional<internal::hello_payload> decode_hello(std::span<const char> payload);
std::vector<char> encode_proof(std::span<const std::uint8_t> mac);

/// A `lookup` request for `name` with id `id`.
std::vector<char> encode_lookup(std::uint64_t id, const std::string& name);

/// The errc code of a `reply` frame, or nothing if it does not decode.
std::optional<std::uint8_t> reply_code(std::span<const char> payload);

/// A client that knows `authkey`: hello as initiator with `hello`, checks the
/// server's proof, sends its own, looks up `name`. Returns the reply's code,
/// or nothing if the server closed first. Records what it sent.
struct legit_client {
  std::string authkey;
  internal::hello_payload hello = hello_as(internal::handshake_role::initiator);
  std::vector<char> sent_hello;
  std::vector<char> sent_proof;
  std::optional<std::uint8_t> refused; ///< the code of a refuse frame read

  std::optional<std::uint8_t> handshake_and_lookup(wire_peer& peer,
                                                   const std::string& name);
};

/// The port of a "tcp://host:port" endpoint, or 0.
std::uint16_t port_of(const std::string& endpoint);

} // namespace proctor::testing
