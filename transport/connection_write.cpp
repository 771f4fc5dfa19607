// The write path of a connection: one outgoing buffer, a direct
// non-blocking send from the caller when it is alone, the io thread for
// bursts and for whatever the socket does not take at once.
#include "transport/connection.hpp"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "proctor/errc.hpp"
#include "transport/base/log.hpp"
#include "transport/tls.hpp"

namespace proctor::internal {

// -- writing ------------------------------------------------------------------

void connection::send_handshake(frame_kind kind, std::vector<char> payload) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (closed_)
    return;
  append_frame(handshake_out_, kind, payload);
  kick_writer(guard);
}

std::error_code connection::send(frame_kind kind, std::span<const char> payload) {
  if (payload.size() > settings_.max_frame_size)
    return errc::frame_too_large;
  std::unique_lock<std::mutex> guard{mtx_};
  // Control frames are small and may be sent with locks held (a proxy's
  // monitor, under CAF's proxy registry mutex, which the io thread needs to
  // decode a handle): they never wait for room.
  if (!is_control_kind(kind) && !executor().running_in_this_thread())
    writable_.wait(guard, [this] {
      return closed_
             || pending_.size() + inflight_.size() - inflight_offset_
                  < settings_.max_pending_bytes;
    });
  if (closed_ || write_failed_)
    return errc::connection_closed;
  append_frame(pending_, kind, payload);
  kick_writer(guard);
  return {};
}

void connection::kick_writer(std::unique_lock<std::mutex>& guard) {
  while (!writing_ && !closed_ && !write_failed_) {
    // Handshake frames go first; other frames wait for the handshake to end.
    if (tls_) {
      if (!fill_from_tls())
        return;
    } else if (!handshake_out_.empty()) {
      std::swap(handshake_out_, inflight_);
    } else if (established_ && !pending_.empty()) {
      if (defer_to_io_thread())
        return;
      std::swap(pending_, inflight_);
    } else {
      return;
    }
    writing_ = true;
    inflight_offset_ = 0;
    guard.unlock();
    // Try the write right here: most of the time the socket takes it all and
    // no thread has to wake up. The fd stays open until the destructor.
    auto n = ::send(socket_.native_handle(), inflight_.data(), inflight_.size(),
                    MSG_DONTWAIT | MSG_NOSIGNAL);
    guard.lock();
    if (n > 0)
      inflight_offset_ = static_cast<std::size_t>(n);
    if (inflight_offset_ < inflight_.size()) {
      boost::asio::post(executor(), [self = shared_from_this()] {
        self->do_async_write();
      });
      return;
    }
    inflight_.clear();
    inflight_offset_ = 0;
    writing_ = false;
    writable_.notify_all();
  }
}

bool connection::fill_from_tls() {
  // Plaintext waits until TLS is up; then the proctor handshake goes first,
  // and other frames after it, as on a plain connection.
  // Encrypting into memory fails only once the session failed, and then
  // the reader closes the connection.
  if (tls_->handshake_done()) {
    if (!handshake_out_.empty()) {
      tls_->encrypt(handshake_out_);
      handshake_out_.clear();
    }
    if (established_ && !pending_.empty() && !defer_to_io_thread()) {
      // In pieces: the io thread, decrypting what arrives, waits for the
      // session between them rather than for the whole batch.
      constexpr std::size_t piece = 64 * 1024;
      std::span<const char> rest{pending_};
      for (; !rest.empty(); rest = rest.subspan(std::min(piece, rest.size())))
        tls_->encrypt(rest.first(std::min(piece, rest.size())));
      pending_.clear();
    }
  }
  tls_->take_output(inflight_);
  return !inflight_.empty();
}

std::size_t connection::queued_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pending_.size() + inflight_.size() - inflight_offset_;
}

bool connection::flush(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> guard{mtx_};
  return writable_.wait_until(guard, deadline, [this] {
    return closed_ || write_failed_
           || (pending_.empty() && handshake_out_.empty() && !writing_);
  });
}

bool connection::defer_to_io_thread() {
  if (executor().running_in_this_thread())
    return false;
  if (flush_posted_)
    return true;
  // A send right after another one is likely part of a burst: leave it to
  // the io thread, which writes everything queued by then in one syscall. A
  // lone send (a request, a reply) goes out at once from the caller.
  auto now = std::chrono::steady_clock::now();
  bool burst = now - last_send_ < burst_window;
  last_send_ = now;
  if (!burst)
    return false;
  flush_posted_ = true;
  boost::asio::post(executor(), [self = shared_from_this()] {
    std::unique_lock<std::mutex> guard{self->mtx_};
    self->flush_posted_ = false;
    self->kick_writer(guard);
  });
  return true;
}

void connection::stop_writing(std::string detail) {
  std::uint32_t pid;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_ || write_failed_)
      return;
    pid = peer_pid_;
    write_failed_ = true;
    pending_.clear();
    inflight_.clear();
    inflight_offset_ = 0;
    writing_ = false;
    writable_.notify_all();
  }
  log("transport", log_level::debug, "connection to pid ", pid, ": ", detail,
      "; reading what the peer sent before it closed");
  // The peer closed its end, maybe right after its last messages: the
  // reader delivers those, then sees the end of the stream and closes.
  boost::system::error_code ignored;
  socket_.shutdown(socket_type::shutdown_send, ignored);
}

void connection::do_async_write() {
  std::size_t offset;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return;
    offset = inflight_offset_;
  }
  auto rest = boost::asio::buffer(inflight_.data() + offset, inflight_.size() - offset);
  boost::asio::async_write(socket_, rest, [self = shared_from_this()](auto ec, auto) {
    if (ec) {
      self->stop_writing("write failed: " + ec.message());
      return;
    }
    std::unique_lock<std::mutex> guard{self->mtx_};
    self->inflight_.clear();
    self->inflight_offset_ = 0;
    self->writing_ = false;
    self->writable_.notify_all();
    self->kick_writer(guard);
  });
}

} // namespace proctor::internal
