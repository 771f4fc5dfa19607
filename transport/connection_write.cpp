// The write path of a connection: chunks of frames gathered into one
// sendmsg, a direct non-blocking write from the caller when it is alone,
// the io thread for bursts and for whatever the socket does not take at
// once.
#include "transport/connection.hpp"

#include <array>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/post.hpp>

#include "proctor/errc.hpp"
#include "transport/base/fd_passing.hpp"
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

namespace {

/// A payload at least this large is written from where it is rather than
/// copied into the shared buffer (when the connection owns it).
constexpr std::size_t own_chunk_size = 16 * 1024;

/// iovecs per sendmsg: enough for a burst of large frames.
constexpr std::size_t max_iovecs = 64;

} // namespace

std::error_code connection::send(frame_kind kind, std::span<const char> payload) {
  if (payload.size() > settings_.max_frame_size)
    return errc::frame_too_large;
  std::unique_lock<std::mutex> guard{mtx_};
  // Control frames are small and may be sent with locks held (a proxy's
  // monitor, under CAF's proxy registry mutex, which the io thread needs to
  // decode a handle): they never wait for room.
  if (!is_control_kind(kind) && !executor().running_in_this_thread())
    writable_.wait(guard, [this] {
      return closed_ || pending_bytes_ + inflight_bytes_ < settings_.max_pending_bytes;
    });
  if (closed_ || write_failed_)
    return errc::connection_closed;
  enqueue(kind, payload, {}, {});
  kick_writer(guard);
  return {};
}

std::error_code connection::send(frame_kind kind, std::vector<char>&& payload,
                                 std::vector<passed_fd> fds) {
  if (payload.size() > settings_.max_frame_size)
    return errc::frame_too_large;
  if (!fds.empty() && (!passes_fds_ || fds.size() > max_passed_fds))
    return errc::bad_argument;
  if (payload.size() < own_chunk_size && fds.empty())
    return send(kind, std::span<const char>{payload});
  std::unique_lock<std::mutex> guard{mtx_};
  if (!is_control_kind(kind) && !executor().running_in_this_thread())
    writable_.wait(guard, [this] {
      return closed_ || pending_bytes_ + inflight_bytes_ < settings_.max_pending_bytes;
    });
  if (closed_ || write_failed_)
    return errc::connection_closed;
  enqueue(kind, {}, std::move(payload), std::move(fds));
  kick_writer(guard);
  return {};
}

void connection::enqueue(frame_kind kind, std::span<const char> copied,
                         std::vector<char>&& owned, std::vector<passed_fd>&& fds) {
  frame_header hdr;
  hdr.kind = kind;
  hdr.flags = static_cast<std::uint16_t>(fds.size());
  hdr.length = static_cast<std::uint32_t>(copied.size() + owned.size());
  auto header = encode_header(hdr);
  auto size = frame_header_size + hdr.length;
  pending_bytes_ += size;
  // A chunk with a body ends where its body ends: what follows it goes
  // into a chunk of its own, so that bytes stay in order.
  if (owned.empty() && fds.empty() && !pending_.empty() && pending_.back().body.empty()) {
    auto& head = pending_.back().head;
    auto at = head.size();
    head.resize(at + size);
    std::memcpy(head.data() + at, header.data(), header.size());
    if (!copied.empty())
      std::memcpy(head.data() + at + header.size(), copied.data(), copied.size());
    return;
  }
  out_chunk chunk;
  if (owned.empty()) {
    chunk.head = std::move(spare_head_); // small frames will follow
    spare_head_ = {};
  }
  chunk.head.resize(header.size() + copied.size());
  std::memcpy(chunk.head.data(), header.data(), header.size());
  if (!copied.empty())
    std::memcpy(chunk.head.data() + header.size(), copied.data(), copied.size());
  chunk.body = std::move(owned);
  chunk.fds = std::move(fds);
  pending_.push_back(std::move(chunk));
}

void connection::kick_writer(std::unique_lock<std::mutex>& guard) {
  while (!writing_ && !closed_ && !write_failed_) {
    // Handshake frames go first; other frames wait for the handshake to end.
    if (tls_) {
      if (!fill_from_tls())
        return;
    } else if (!handshake_out_.empty()) {
      inflight_bytes_ = handshake_out_.size();
      inflight_.push_back({std::move(handshake_out_), {}, {}});
      handshake_out_.clear();
    } else if (established_ && !pending_.empty()) {
      if (defer_to_io_thread())
        return;
      std::swap(pending_, inflight_);
      inflight_bytes_ = pending_bytes_;
      pending_bytes_ = 0;
    } else {
      return;
    }
    writing_ = true;
    inflight_offset_ = 0;
    guard.unlock();
    // Try the write right here: most of the time the socket takes it all and
    // no thread has to wake up. The fd stays open until the destructor.
    int error = 0;
    auto n = write_inflight(error);
    guard.lock();
    if (!wrote(n)) {
      boost::asio::post(executor(), [self = shared_from_this()] {
        self->do_async_write();
      });
      return;
    }
  }
}

std::size_t connection::write_inflight(int& error) {
  std::size_t total = 0;
  while (!inflight_.empty()) {
    std::array<iovec, max_iovecs> iov;
    std::size_t count = 0;
    std::size_t offset = inflight_offset_;
    // From the first chunk on, up to (not into) the next one with fds.
    for (std::size_t i = 0; i < inflight_.size() && count + 2 <= max_iovecs; ++i) {
      auto& chunk = inflight_[i];
      if (i > 0 && !chunk.fds.empty())
        break;
      for (auto* part : {&chunk.head, &chunk.body}) {
        if (offset >= part->size()) {
          offset -= part->size();
          continue;
        }
        iov[count++] = {part->data() + offset, part->size() - offset};
        offset = 0;
      }
    }
    // The first chunk's descriptors go with its first byte, and only then.
    std::vector<int> fds;
    if (inflight_offset_ == 0)
      for (auto& passed : inflight_.front().fds)
        fds.push_back(passed.fd);
    auto n = send_with_fds(socket_.native_handle(), {iov.data(), count}, fds);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        error = errno;
      return total;
    }
    auto written = static_cast<std::size_t>(n);
    total += written;
    // Drop what was written; a chunk's descriptors are sent with its start.
    inflight_offset_ += written;
    inflight_.front().fds.clear();
    while (!inflight_.empty() && inflight_offset_ >= inflight_.front().size()) {
      auto& done = inflight_.front();
      inflight_offset_ -= done.size();
      // The largest buffer written is kept for the next batch of small
      // frames, which would otherwise grow one from nothing.
      if (done.head.capacity() > written_head_.capacity())
        written_head_ = std::move(done.head);
      inflight_.pop_front();
    }
  }
  return total;
}

bool connection::wrote(std::size_t n) {
  inflight_bytes_ -= std::min(n, inflight_bytes_);
  if (written_head_.capacity() > spare_head_.capacity()) {
    spare_head_ = std::move(written_head_);
    spare_head_.clear();
  }
  written_head_ = {};
  if (!inflight_.empty())
    return false;
  inflight_offset_ = 0;
  inflight_bytes_ = 0;
  writing_ = false;
  writable_.notify_all();
  return true;
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
      for (auto& chunk : pending_)
        for (auto* part : {&chunk.head, &chunk.body}) {
          std::span<const char> rest{*part};
          for (; !rest.empty(); rest = rest.subspan(std::min(piece, rest.size())))
            tls_->encrypt(rest.first(std::min(piece, rest.size())));
        }
      pending_.clear();
      pending_bytes_ = 0;
    }
  }
  std::vector<char> records;
  tls_->take_output(records);
  if (records.empty())
    return false;
  inflight_bytes_ = records.size();
  inflight_.push_back({std::move(records), {}, {}});
  return true;
}

std::size_t connection::queued_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pending_bytes_ + inflight_bytes_;
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
    pending_bytes_ = 0;
    inflight_.clear();
    inflight_offset_ = 0;
    inflight_bytes_ = 0;
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
  // On the io thread, and always a write before a wait: the socket's
  // writability edge comes only after it was found full.
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_ || !writing_)
      return;
  }
  int error = 0;
  auto n = write_inflight(error);
  if (error != 0) {
    stop_writing(std::string{"write failed: "} + std::strerror(error));
    return;
  }
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (wrote(n)) {
      kick_writer(guard);
      return;
    }
  }
  socket_.async_wait(socket_type::wait_write, [self = shared_from_this()](auto ec) {
    if (ec) {
      self->stop_writing("write failed: " + ec.message());
      return;
    }
    self->do_async_write();
  });
}

} // namespace proctor::internal
