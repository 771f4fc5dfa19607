#pragma once

// Two ends of a proctor connection over a socketpair, and a handler that
// records what one reports, for the transport's tests. Every wait has a
// deadline.

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "tests/support/io_thread.hpp"
#include "transport/connection.hpp"
#include "transport/frame.hpp"

namespace proctor::testing {

using internal::connection;
using internal::connection_handler;
using internal::connection_settings;
using internal::derive_handshake_keys;
using internal::encode_header;
using internal::frame_header;
using internal::frame_kind;
using internal::handshake_role;
using internal::peer_info;
using socket_type = connection::socket_type;
using namespace std::chrono_literals;

constexpr auto wait_limit = 10s;

/// Records what a connection reports; every wait has a deadline.
class recorder : public connection_handler {
public:
  std::error_code on_established(connection&, const peer_info& peer,
                                 std::string&) override {
    std::lock_guard<std::mutex> guard{mtx_};
    established_ = true;
    peer_ = peer;
    cv_.notify_all();
    return {};
  }

  std::error_code on_frame(connection& conn, frame_kind kind,
                           std::span<const char> payload) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (kind == frame_kind::reply) // stands for a payload the layer rejects
      return errc::malformed_payload;
    if (kind != frame_kind::down) // leaves its descriptors untaken
      descriptors_.push_back(conn.take_descriptors());
    frames_.emplace_back(payload.begin(), payload.end());
    cv_.notify_all();
    return {};
  }

  void on_closed(connection&, std::error_code reason, const std::string& detail) override {
    std::lock_guard<std::mutex> guard{mtx_};
    closed_ = reason;
    detail_ = detail;
    cv_.notify_all();
  }

  bool wait_established() {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit, [&] { return established_ || closed_; })
           && established_;
  }

  std::error_code wait_closed() {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, wait_limit, [&] { return bool(closed_); }))
      return errc::timeout;
    return closed_;
  }

  std::vector<std::string> wait_frames(std::size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, wait_limit, [&] { return frames_.size() >= n || closed_; });
    return frames_;
  }

  std::string detail() {
    std::lock_guard<std::mutex> guard{mtx_};
    return detail_;
  }

  /// The descriptors that came with each frame taken (all but `down`).
  std::vector<std::vector<internal::scoped_fd>> take_descriptors() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::move(descriptors_);
  }

  peer_info peer() {
    std::lock_guard<std::mutex> guard{mtx_};
    return peer_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool established_ = false;
  peer_info peer_;
  std::error_code closed_;
  std::string detail_;
  std::vector<std::string> frames_;
  std::vector<std::vector<internal::scoped_fd>> descriptors_;
};

/// An initiator's settings; `acceptor` turns them into the other end's.
inline connection_settings settings_with(std::string key, std::uint64_t fingerprint = 42) {
  connection_settings s;
  s.keys = derive_handshake_keys(key);
  s.role = handshake_role::initiator;
  s.fingerprint = fingerprint;
  s.node = {'n', '1'};
  s.handshake_timeout = 500ms;
  s.max_frame_size = 1 << 20;
  return s;
}

inline connection_settings acceptor(connection_settings s) {
  s.role = handshake_role::acceptor;
  s.node = {'n', '2'};
  return s;
}

struct endpoint_pair {
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  std::shared_ptr<connection> conn;
};

/// A connected Unix socket pair: one end for a proctor connection, the other
/// returned as a raw fd the test writes arbitrary bytes to.
struct raw_peer {
  int fd = -1;
  ~raw_peer() {
    if (fd >= 0)
      ::close(fd);
  }
  void write(const void* data, std::size_t n) const {
    ASSERT_EQ(::write(fd, data, n), static_cast<ssize_t>(n));
  }
  void write_header(frame_header hdr) const {
    auto bytes = encode_header(hdr);
    write(bytes.data(), bytes.size());
  }
  void shutdown_write() const {
    ::shutdown(fd, SHUT_WR);
  }
};

class connection_fixture : public ::testing::Test {
protected:
  socket_type socket_from(int fd) {
    socket_type sock{io_.context()};
    sock.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), fd);
    return sock;
  }

  endpoint_pair make_end(int fd, connection_settings s) {
    endpoint_pair end;
    end.conn = connection::make(socket_from(fd), std::move(s), end.rec);
    end.conn->start();
    return end;
  }

  /// With `initiator_raw`, a duplicate of the initiator's socket is left
  /// there, for a test to write forged frames once the handshake is done.
  std::pair<endpoint_pair, endpoint_pair> make_pair(connection_settings a,
                                                    connection_settings b,
                                                    int* initiator_raw = nullptr) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    if (initiator_raw != nullptr)
      *initiator_raw = ::dup(fds[0]);
    return {make_end(fds[0], std::move(a)), make_end(fds[1], acceptor(std::move(b)))};
  }

  /// A proctor end (the acceptor) facing a raw socket.
  endpoint_pair make_raw(raw_peer& raw, connection_settings s) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    raw.fd = fds[1];
    return make_end(fds[0], acceptor(std::move(s)));
  }

  proctor::testing::io_thread io_;
};


} // namespace proctor::testing
