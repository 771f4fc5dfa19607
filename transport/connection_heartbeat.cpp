// Heartbeats: after the handshake, each side sends a heartbeat frame every
// interval and closes a connection from which nothing arrived for
// dead_after. TCP keeps a connection to a frozen process (SIGSTOP: its
// kernel still acknowledges) or across a partition (nothing is sent, so
// nothing fails) up for minutes; these cases must end within dead_after.
// Every byte counts as a sign of life, not only heartbeats: a peer busy
// sending a large message is alive.
//
// A heartbeat's payload is the sender's interval in milliseconds (uint32,
// big-endian), so that sides configured differently agree: a side waits at
// least three of the peer's intervals, and does not wait for a peer that
// sends none (interval 0). Runs on the io thread.
#include "transport/connection.hpp"

#include <algorithm>
#include <array>

#include "proctor/errc.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

std::array<char, 4> encode_interval(std::chrono::milliseconds interval) {
  auto ms = static_cast<std::uint32_t>(std::min<std::int64_t>(interval.count(), UINT32_MAX));
  return {static_cast<char>(ms >> 24), static_cast<char>(ms >> 16), static_cast<char>(ms >> 8),
          static_cast<char>(ms)};
}

} // namespace

std::chrono::steady_clock::duration connection::heard_ago() const noexcept {
  auto heard = std::chrono::steady_clock::time_point{
    std::chrono::steady_clock::duration{last_heard_.load(std::memory_order_relaxed)}};
  return std::chrono::steady_clock::now() - heard;
}

void connection::start_heartbeats() {
  if (settings_.heartbeat_interval.count() > 0) {
    heartbeat_tick();
    return;
  }
  auto interval = encode_interval(settings_.heartbeat_interval);
  (void) send(frame_kind::heartbeat, interval);
}

std::error_code connection::on_heartbeat(std::span<const char> payload, std::string& detail) {
  if (payload.size() != 4) {
    detail = "a heartbeat of " + std::to_string(payload.size()) + " bytes";
    return errc::malformed_payload;
  }
  auto byte = [&](int i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(payload[i]));
  };
  peer_interval_ = std::chrono::milliseconds{(byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8)
                                             | byte(3)};
  return {};
}

void connection::heartbeat_tick() {
  auto dead_after = settings_.dead_after;
  if (peer_interval_)
    dead_after = std::max(dead_after, 3 * *peer_interval_);
  auto silent = heard_ago();
  // A peer that sends no heartbeats may be silent for as long as it likes.
  // Bytes waiting in the socket are a sign of life too: this thread may
  // have been kept from reading them (a loaded host), not the peer from
  // sending.
  boost::system::error_code ignored;
  if (silent > dead_after && peer_interval_ != std::chrono::milliseconds{0}
      && socket_.available(ignored) == 0) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(silent).count();
    do_close(errc::peer_unresponsive,
             "nothing arrived for " + std::to_string(ms) + " ms (dead after "
               + std::to_string(dead_after.count()) + " ms)");
    return;
  }
  if (send(frame_kind::heartbeat, encode_interval(settings_.heartbeat_interval)))
    return; // closed meanwhile
  heartbeat_timer_.expires_after(settings_.heartbeat_interval);
  heartbeat_timer_.async_wait([weak = weak_from_this()](auto ec) {
    if (ec)
      return;
    if (auto conn = weak.lock(); conn && conn->established())
      conn->heartbeat_tick();
  });
}

} // namespace proctor::internal
