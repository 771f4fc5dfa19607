#include "tests/support/wire_peer.hpp"

#include "actors/remote/link_requests.hpp"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/node_id.hpp>

#include "actors/wire/codec.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor::testing {

using namespace internal;

namespace {

/// The errc a refuse frame carries, if it decodes.
std::optional<std::uint8_t> refusal_code(std::span<const char> payload) {
  refuse_payload refusal;
  if (!decode(payload, refusal))
    return std::nullopt;
  return refusal.code;
}

} // namespace

wire_peer::wire_peer(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ >= 0
      && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

wire_peer::~wire_peer() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool wire_peer::write_frame(frame_kind kind, std::span<const char> payload) {
  std::vector<char> out;
  append_frame(out, kind, payload);
  auto n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(out.size());
}

bool wire_peer::fill(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  while (buf_.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char chunk[4096];
    auto got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0)
      return false;
    buf_.insert(buf_.end(), chunk, chunk + got);
  }
  return true;
}

std::optional<raw_frame> wire_peer::read_frame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!fill(frame_header_size, deadline))
    return std::nullopt;
  frame_header hdr;
  std::span<const std::byte, frame_header_size> raw{
    reinterpret_cast<const std::byte*>(buf_.data()), frame_header_size};
  if (decode_header(raw, default_max_frame_size, hdr))
    return std::nullopt;
  if (!fill(frame_header_size + hdr.length, deadline))
    return std::nullopt;
  raw_frame frame{hdr.kind, {buf_.begin() + frame_header_size,
                             buf_.begin() + frame_header_size + hdr.length}};
  buf_.erase(buf_.begin(), buf_.begin() + frame_header_size + hdr.length);
  return frame;
}

ending wire_peer::wait_end(std::chrono::milliseconds timeout) {
  ending result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return result;
    auto frame = read_frame(left);
    if (!frame) {
      // EOF, or the deadline: tell them apart by one more look.
      pollfd p{fd_, POLLIN, 0};
      char byte;
      result.closed = ::poll(&p, 1, 0) == 1 && ::recv(fd_, &byte, 1, MSG_PEEK) <= 0;
      return result;
    }
    if (frame->kind == frame_kind::refuse) {
      result.code = refusal_code(frame->payload);
    } else {
      result.before.push_back(std::move(*frame));
    }
  }
}

hello_payload hello_as(handshake_role role) {
  hello_payload hello;
  hello.role = static_cast<std::uint8_t>(role);
  hello.nonce = make_nonce();
  hello.fingerprint = binary_fingerprint();
  hello.pid = static_cast<std::uint32_t>(::getpid());
  caf::node_id::default_data::host_id_type host{};
  auto bytes = make_nonce();
  std::memcpy(host.data(), bytes.data(), host.size());
  auto node = caf::make_node_id(4242, host);
  hello.node = encode(node);
  return hello;
}

std::vector<char> encode_hello(const hello_payload& hello) {
  auto copy = hello;
  return encode(copy);
}

std::optional<hello_payload> decode_hello(std::span<const char> payload) {
  hello_payload hello;
  if (!decode(payload, hello))
    return std::nullopt;
  return hello;
}

std::vector<char> encode_proof(std::span<const std::uint8_t> mac) {
  proof_payload proof;
  proof.mac.assign(mac.begin(), mac.end());
  return encode(proof);
}

std::vector<char> encode_lookup(std::uint64_t id, const std::string& name) {
  proctor::internal::lookup_request request{name};
  return proctor::internal::encode_request(id, request.kind, encode(request));
}

std::optional<std::uint8_t> reply_code(std::span<const char> payload) {
  proctor::internal::reply_head head;
  if (!proctor::internal::decode_reply_head(payload, head))
    return std::nullopt;
  return head.code;
}

std::optional<std::uint8_t>
legit_client::handshake_and_lookup(wire_peer& peer, const std::string& name) {
  using namespace std::chrono_literals;
  refused.reset();
  sent_hello = encode_hello(hello);
  if (!peer.write_frame(frame_kind::hello, sent_hello))
    return std::nullopt;
  auto server_hello = peer.read_frame(10s);
  if (!server_hello || server_hello->kind != frame_kind::hello)
    return std::nullopt;
  auto keys = derive_handshake_keys(authkey);
  auto transcript = transcript_hash(sent_hello, server_hello->payload);
  auto mine = compute_proof(keys, handshake_role::initiator, transcript);
  sent_proof = encode_proof(mine);
  if (!peer.write_frame(frame_kind::proof, sent_proof))
    return std::nullopt;
  auto server_proof = peer.read_frame(10s);
  if (!server_proof || server_proof->kind != frame_kind::proof)
    return std::nullopt;
  auto expected = compute_proof(keys, handshake_role::acceptor, transcript);
  if (encode_proof(expected) != server_proof->payload)
    return std::nullopt;
  if (!peer.write_frame(frame_kind::request, encode_lookup(1, name)))
    return std::nullopt;
  for (;;) {
    auto frame = peer.read_frame(10s);
    if (frame && frame->kind == frame_kind::refuse)
      refused = refusal_code(frame->payload);
    if (!frame || frame->kind == frame_kind::refuse)
      return std::nullopt;
    if (frame->kind == frame_kind::reply)
      return reply_code(frame->payload);
  }
}

std::uint16_t port_of(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos)
    return 0;
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1)));
}

} // namespace proctor::testing
