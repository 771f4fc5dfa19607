// Fuzz targets for the transport: the frame header, and the handshake state
// machine of one connection fed a sequence of frames.
#include "tests/fuzz/targets.hpp"

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <caf/binary_serializer.hpp>

#include "transport/connection.hpp"
#include "transport/frame.hpp"
#include "transport/handshake.hpp"

namespace proctor::fuzz {

using namespace internal;

namespace {

/// Accepts every frame: what follows the handshake reaches the layer above.
class accept_all : public connection_handler {
public:
  std::error_code on_established(connection&, const peer_info&, std::string&) override {
    return {};
  }
  std::error_code on_frame(connection&, frame_kind, std::span<const char>) override {
    return {};
  }
  void on_closed(connection&, std::error_code, const std::string&) override {
  }
};

const handshake_keys& fuzz_keys() {
  static const handshake_keys keys = derive_handshake_keys("fuzz-key");
  return keys;
}

constexpr std::uint64_t fuzz_fingerprint = 42;

std::vector<char> frame_of(frame_kind kind, std::span<const char> payload) {
  std::vector<char> out;
  append_frame(out, kind, payload);
  return out;
}

/// Reads what the connection wrote to the raw end and keeps the payload of
/// the first hello in it.
class server_output {
public:
  explicit server_output(int fd) : fd_(fd) {
  }

  const std::optional<std::vector<char>>& hello() {
    char chunk[4096];
    for (;;) {
      auto n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n <= 0)
        break;
      bytes_.insert(bytes_.end(), chunk, chunk + n);
    }
    if (!hello_ && bytes_.size() >= frame_header_size) {
      internal::frame_header hdr;
      std::span<const std::byte, frame_header_size> raw{
        reinterpret_cast<const std::byte*>(bytes_.data()), frame_header_size};
      if (!decode_header(raw, default_max_frame_size, hdr) && hdr.kind == frame_kind::hello
          && bytes_.size() >= frame_header_size + hdr.length)
        hello_.emplace(bytes_.begin() + frame_header_size,
                       bytes_.begin() + frame_header_size + hdr.length);
    }
    return hello_;
  }

private:
  int fd_;
  std::vector<char> bytes_;
  std::optional<std::vector<char>> hello_;
};

} // namespace

int frame_header(const std::uint8_t* data, std::size_t size) {
  if (size < frame_header_size)
    return 0;
  std::span<const std::byte, frame_header_size> raw{
    reinterpret_cast<const std::byte*>(data), frame_header_size};
  internal::frame_header hdr;
  if (!decode_header(raw, 4096, hdr)) {
    // What decodes encodes back to the same bytes (flags aside: reserved).
    auto again = encode_header(hdr);
    if (std::memcmp(again.data(), data, frame_header_size) != 0)
      __builtin_trap();
  }
  return 0;
}

int handshake(const std::uint8_t* data, std::size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return 0;
  boost::asio::io_context io;
  connection::socket_type sock{io};
  sock.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), fds[0]);
  connection_settings settings;
  settings.keys = fuzz_keys();
  settings.role = handshake_role::acceptor;
  settings.fingerprint = fuzz_fingerprint;
  settings.node = {'s'};
  settings.max_frame_size = 1 << 16;
  auto conn = connection::make(std::move(sock), settings, std::make_shared<accept_all>());
  conn->start();
  io.poll();
  server_output out{fds[1]};
  std::vector<char> sent_hello;
  auto write = [&](const std::vector<char>& bytes) {
    if (!bytes.empty())
      (void) ::send(fds[1], bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    while (io.poll() > 0) {
    }
  };
  std::size_t at = 0;
  while (at + 3 <= size) {
    auto op = data[at];
    std::size_t length = (std::size_t{data[at + 1]} << 8) | data[at + 2];
    at += 3;
    length = std::min(length, size - at);
    std::span<const char> bytes{reinterpret_cast<const char*>(data + at), length};
    at += length;
    switch (op % 4) {
      case 0:
        write({bytes.begin(), bytes.end()});
        break;
      case 1:
        if (!bytes.empty()) {
          auto kind = static_cast<frame_kind>(bytes[0]);
          auto payload = bytes.subspan(1);
          if (kind == frame_kind::hello)
            sent_hello.assign(payload.begin(), payload.end());
          write(frame_of(kind, payload));
        }
        break;
      case 2: {
        hello_payload hello;
        hello.role = static_cast<std::uint8_t>(handshake_role::initiator);
        hello.nonce.assign(nonce_size, 7);
        hello.fingerprint = fuzz_fingerprint;
        hello.node.assign(bytes.begin(), bytes.end());
        std::vector<char> payload;
        caf::binary_serializer sink{nullptr, payload};
        if (!sink(hello)) {
          sent_hello = payload;
          write(frame_of(frame_kind::hello, payload));
        }
        break;
      }
      case 3:
        if (auto& theirs = out.hello()) {
          auto transcript = transcript_hash(sent_hello, *theirs);
          auto mac = compute_proof(fuzz_keys(), handshake_role::initiator, transcript);
          proof_payload proof;
          proof.mac.assign(mac.begin(), mac.end());
          std::vector<char> payload;
          caf::binary_serializer sink{nullptr, payload};
          if (!sink(proof))
            write(frame_of(frame_kind::proof, payload));
        }
        break;
    }
  }
  ::shutdown(fds[1], SHUT_WR);
  // End of stream closes the connection, which cancels its handshake timer.
  io.run_for(std::chrono::seconds{2});
  out.hello();
  ::close(fds[1]);
  return 0;
}

} // namespace proctor::fuzz
