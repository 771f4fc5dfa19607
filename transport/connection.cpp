#include "transport/connection.hpp"

#include <cerrno>
#include <cstring>

#include <sys/socket.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/errc.hpp"
#include "transport/base/fd_passing.hpp"
#include "transport/base/log.hpp"
#include "transport/tls.hpp"

namespace proctor::internal {

namespace {

/// A peer that has not authenticated may not make us allocate more.
constexpr std::uint32_t max_handshake_frame = 4096;

constexpr std::size_t min_read_space = 64 * 1024;

constexpr std::size_t handshake_read_space = max_handshake_frame + frame_header_size;

handshake_role other(handshake_role role) {
  return role == handshake_role::initiator ? handshake_role::acceptor
                                           : handshake_role::initiator;
}

/// Descriptors received ahead of the frames that claim them: one frame's,
/// and the next one's arriving with the same read.
constexpr std::size_t max_arrived_fds = 2 * max_passed_fds;

const char* name_of(handshake_role role) {
  return role == handshake_role::initiator ? "initiator" : "acceptor";
}

template <class T>
std::vector<char> encode(T& value) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (auto err = sink(value))
    throw std::runtime_error("proctor: cannot encode a handshake frame");
  return buf;
}

template <class T>
bool decode(std::span<const char> payload, T& value) {
  bounded_deserializer source{nullptr, payload.data(), payload.size()};
  return !source(value) && source.remaining() == 0;
}

} // namespace

connection_handler::~connection_handler() = default;

std::shared_ptr<connection>
connection::make(socket_type socket, connection_settings settings,
                 std::shared_ptr<connection_handler> handler) {
  return std::shared_ptr<connection>{
    new connection(std::move(socket), std::move(settings), std::move(handler))};
}

connection::connection(socket_type socket, connection_settings settings,
                       std::shared_ptr<connection_handler> handler)
  : socket_(std::move(socket)),
    settings_(std::move(settings)),
    handler_(std::move(handler)),
    handshake_timer_(socket_.get_executor()),
    heartbeat_timer_(socket_.get_executor()),
    passes_fds_(!settings_.tls && is_unix_socket(socket_.native_handle())) {
  // Non-blocking so that `send` can try a write from the caller's thread.
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  if (settings_.tls)
    tls_ = std::make_unique<tls_session>(*settings_.tls,
                                         settings_.role == handshake_role::initiator,
                                         settings_.tls_peer_host);
}

connection::~connection() = default;

boost::asio::io_context::executor_type connection::executor() noexcept {
  return socket_.get_executor();
}

bool connection::established() const noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return established_ && !closed_;
}

std::uint32_t connection::peer_pid() const noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return peer_pid_;
}

void connection::start() {
  boost::asio::post(executor(), [self = shared_from_this()] {
    if (self->tls_ && self->settings_.role == handshake_role::initiator)
      self->tls_->start();
    self->own_nonce_ = make_nonce();
    hello_payload hello;
    hello.role = static_cast<std::uint8_t>(self->settings_.role);
    hello.nonce = self->own_nonce_;
    hello.fingerprint = self->settings_.fingerprint;
    hello.pid = static_cast<std::uint32_t>(::getpid());
    hello.node = self->settings_.node;
    self->own_hello_ = encode(hello);
    self->send_handshake(frame_kind::hello, self->own_hello_);
    self->handshake_timer_.expires_after(self->settings_.handshake_timeout);
    self->handshake_timer_.async_wait([weak = self->weak_from_this()](auto ec) {
      if (ec)
        return;
      if (auto conn = weak.lock(); conn && !conn->established())
        conn->do_close(errc::handshake_timeout,
                       "the peer did not finish the handshake in time");
    });
    self->do_read();
  });
}

// -- reading ------------------------------------------------------------------

void connection::do_read() {
  if (close_when_drained_) {
    // The peer is gone: nothing more will arrive than the socket holds.
    boost::system::error_code ec;
    if (socket_.available(ec) == 0 || ec) {
      auto [reason, detail] = std::move(*close_when_drained_);
      do_close(reason, std::move(detail));
      return;
    }
    drained_ = false;
  }
  // Until the peer proves the key it gets a buffer for one handshake frame.
  auto min_space = io_established_ ? min_read_space : handshake_read_space;
  if (read_buf_.size() - read_end_ < min_space) {
    // Move the unconsumed tail to the front before growing.
    if (read_begin_ > 0) {
      std::memmove(read_buf_.data(), read_buf_.data() + read_begin_,
                   read_end_ - read_begin_);
      read_end_ -= read_begin_;
      read_begin_ = 0;
    }
    if (read_buf_.size() - read_end_ < min_space)
      read_buf_.resize(read_end_ + min_space);
  }
  auto space = boost::asio::buffer(read_buf_.data() + read_end_,
                                   read_buf_.size() - read_end_);
  if (tls_) {
    // Records arrive here; their plaintext goes to read_buf_.
    tls_in_.resize(min_space);
    space = boost::asio::buffer(tls_in_);
  }
  if (passes_fds_) {
    // Descriptors come with the bytes, which Asio cannot read: recvmsg. A
    // drained socket waits for its next readiness edge (only this thread
    // runs the reactor, so none can pass before the wait is queued); one
    // that may hold more is read again, in a handler of its own so that a
    // busy peer does not deepen the stack.
    if (drained_) {
      socket_.async_wait(socket_type::wait_read, [self = shared_from_this()](auto ec) {
        if (ec)
          return self->on_read_failed(ec);
        self->receive_with_descriptors();
      });
      return;
    }
    boost::asio::post(executor(), [self = shared_from_this()] {
      self->receive_with_descriptors();
    });
    return;
  }
  socket_.async_read_some(space, [self = shared_from_this()](auto ec, auto n) {
    if (ec)
      return self->on_read_failed(ec);
    self->on_read(n);
  });
}

void connection::receive_with_descriptors() {
  if (!handler_)
    return;
  std::vector<int> fds;
  std::span<char> space{read_buf_.data() + read_end_, read_buf_.size() - read_end_};
  auto n = receive_with_fds(socket_.native_handle(), space, fds, max_passed_fds);
  for (int fd : fds)
    arrived_fds_.emplace_back(fd);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    drained_ = true;
    return do_read();
  }
  if (n < 0 && errno == EBADMSG)
    return refuse_and_close(errc::protocol_violation,
                            "more descriptors than a frame may carry");
  if (n < 0)
    return on_read_failed({errno, boost::system::system_category()});
  if (n == 0)
    return on_read_failed(boost::asio::error::eof);
  if (arrived_fds_.size() > max_arrived_fds)
    return refuse_and_close(errc::protocol_violation,
                            "descriptors that no frame claims");
  // A Unix stream read returns all that is queued, up to the space given,
  // unless it stops after a message that carried descriptors.
  drained_ = static_cast<std::size_t>(n) < space.size() && fds.empty();
  on_read(static_cast<std::size_t>(n));
}

void connection::on_read_failed(const boost::system::error_code& ec) {
  // close_when_drained cancelled the wait: read what is left, then close.
  if (ec == boost::asio::error::operation_aborted && close_when_drained_ && handler_)
    return do_read();
  if (read_end_ != read_begin_)
    do_close(errc::truncated_frame, "the peer closed in the middle of a frame ("
                                      + std::to_string(read_end_ - read_begin_)
                                      + " bytes pending)");
  else if (ec == boost::asio::error::eof)
    do_close(errc::connection_closed, "end of stream");
  else
    do_close(errc::connection_closed, ec.message());
}

void connection::on_read(std::size_t bytes) {
  // Closed since this read completed (a failed write, close()): do_close ran
  // on this thread and let the handler go; the bytes are for nobody.
  if (!handler_)
    return;
  last_heard_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                    std::memory_order_relaxed);
  std::string detail;
  if (!tls_) {
    read_end_ += bytes;
  } else if (auto err = on_tls_read(bytes, detail)) {
    refuse_and_close(err, std::move(detail));
    return;
  }
  if (auto err = consume_frames(detail)) {
    refuse_and_close(err, std::move(detail));
    return;
  }
  // Only a peer that proved the key may hand this process descriptors.
  if (!io_established_ && !arrived_fds_.empty()) {
    refuse_and_close(errc::protocol_violation, "descriptors before the handshake ended");
    return;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return;
  }
  do_read();
}

std::error_code connection::on_tls_read(std::size_t bytes, std::string& detail) {
  bool was_up = tls_up_;
  if (auto err = tls_->receive({tls_in_.data(), bytes}, read_buf_, read_end_, detail))
    return err;
  tls_up_ = was_up || tls_->handshake_done();
  // The session may have answered (handshake records), or finished its
  // handshake, which frees the proctor hello waiting for it. Records of
  // an established session need no answer: the writer is left alone.
  if (was_up && !tls_->has_output())
    return {};
  std::unique_lock<std::mutex> guard{mtx_};
  kick_writer(guard);
  return {};
}

std::error_code connection::consume_frames(std::string& detail) {
  for (;;) {
    auto available = read_end_ - read_begin_;
    if (available < frame_header_size)
      return {};
    bool handshaking = !io_established_;
    auto limit = handshaking ? max_handshake_frame : settings_.max_frame_size;
    frame_header hdr;
    std::span<const std::byte, frame_header_size> raw{
      reinterpret_cast<const std::byte*>(read_buf_.data() + read_begin_),
      frame_header_size};
    if (auto err = decode_header(raw, limit, hdr)) {
      if (err == errc::frame_too_large)
        detail = "frame of " + std::to_string(hdr.length) + " bytes exceeds the limit of "
                 + std::to_string(limit);
      return err;
    }
    std::size_t fd_count = hdr.flags;
    if (fd_count > 0 && (handshaking || !passes_fds_ || fd_count > max_passed_fds)) {
      detail = "a frame announces " + std::to_string(fd_count)
               + " descriptors, which this connection does not carry";
      return errc::protocol_violation;
    }
    auto total = frame_header_size + hdr.length;
    if (available < total) {
      // Only now, with the length checked, make room for the whole frame.
      auto space = handshaking ? handshake_read_space : min_read_space;
      if (read_buf_.size() - read_begin_ < total + space) {
        std::memmove(read_buf_.data(), read_buf_.data() + read_begin_, available);
        read_begin_ = 0;
        read_end_ = available;
        read_buf_.resize(total + space);
      }
      return {};
    }
    std::span<const char> payload{read_buf_.data() + read_begin_ + frame_header_size,
                                  hdr.length};
    // The descriptors were attached to the frame's first byte: here by now.
    if (arrived_fds_.size() < fd_count) {
      detail = "a frame announces " + std::to_string(fd_count) + " descriptors, "
               + std::to_string(arrived_fds_.size()) + " arrived";
      return errc::protocol_violation;
    }
    frame_fds_.clear();
    for (std::size_t i = 0; i < fd_count; ++i) {
      frame_fds_.push_back(std::move(arrived_fds_.front()));
      arrived_fds_.pop_front();
    }
    read_begin_ += total;
    if (handshaking || is_handshake_kind(hdr.kind)) {
      if (auto err = handle_handshake_frame(hdr.kind, payload, detail))
        return err;
    } else if (hdr.kind == frame_kind::heartbeat) {
      if (auto err = on_heartbeat(payload, detail))
        return err;
    } else if (auto err = handler_->on_frame(*this, hdr.kind, payload)) {
      detail = "frame of kind " + std::to_string(int(hdr.kind)) + " rejected";
      return err;
    }
    frame_fds_.clear(); // closes those the handler did not take
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (closed_)
        return {};
    }
    if (read_begin_ == read_end_)
      read_begin_ = read_end_ = 0;
  }
}

std::vector<scoped_fd> connection::take_descriptors() {
  auto taken = std::move(frame_fds_);
  frame_fds_.clear();
  return taken;
}

// -- handshake ----------------------------------------------------------------

std::error_code connection::handle_handshake_frame(frame_kind kind,
                                                   std::span<const char> payload,
                                                   std::string& detail) {
  if (kind == frame_kind::refuse) {
    refuse_payload refusal;
    if (!decode(payload, refusal)) {
      detail = "malformed refuse frame";
      return errc::malformed_payload;
    }
    // An endpoint that requires TLS says so in plain proctor: the caller
    // learns that, not just that it was refused.
    auto code = static_cast<errc>(refusal.code);
    do_close(code == errc::tls_required ? errc::tls_required : errc::peer_refused,
             "peer refused: " + refusal.reason + " (" + to_string(code) + ")");
    return {};
  }
  if (io_established_ && is_handshake_kind(kind)) {
    detail = std::string{"a "} + (kind == frame_kind::hello ? "hello" : "proof")
             + " after the handshake";
    return errc::protocol_violation;
  }
  switch (kind) {
    case frame_kind::hello:
      return on_hello(payload, detail);
    case frame_kind::proof:
      return on_proof(payload, detail);
    default:
      detail = "frame of kind " + std::to_string(int(kind)) + " before the handshake";
      return errc::authentication_failed;
  }
}

std::error_code connection::on_hello(std::span<const char> payload,
                                     std::string& detail) {
  if (got_hello_) {
    detail = "a second hello";
    return errc::protocol_violation;
  }
  if (!decode(payload, peer_hello_) || peer_hello_.nonce.size() != nonce_size) {
    detail = "malformed hello frame";
    return errc::malformed_payload;
  }
  got_hello_ = true;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    peer_pid_ = peer_hello_.pid;
  }
  if (peer_hello_.fingerprint != settings_.fingerprint) {
    detail = "the peer was built from another binary (fingerprint "
             + std::to_string(peer_hello_.fingerprint) + ", expected "
             + std::to_string(settings_.fingerprint) + ")";
    return errc::fingerprint_mismatch;
  }
  auto peer_role = other(settings_.role);
  if (peer_hello_.role != static_cast<std::uint8_t>(peer_role)) {
    detail = std::string{"the peer does not act as the "} + name_of(peer_role);
    return errc::protocol_violation;
  }
  // A hello that carries our own node or nonce is ours, reflected: with one
  // key shared by many nodes, the transcript alone does not tell (TLS 1.3's
  // "selfie" attack).
  if (peer_hello_.node == settings_.node || peer_hello_.nonce == own_nonce_) {
    detail = "the peer presents this process's own hello";
    return errc::authentication_failed;
  }
  transcript_ = settings_.role == handshake_role::initiator
                  ? transcript_hash(own_hello_, payload)
                  : transcript_hash(payload, own_hello_);
  auto mac = compute_proof(settings_.keys, settings_.role, transcript_);
  proof_payload proof;
  proof.mac.assign(mac.begin(), mac.end());
  send_handshake(frame_kind::proof, encode(proof));
  return {};
}

std::error_code connection::on_proof(std::span<const char> payload,
                                     std::string& detail) {
  proof_payload proof;
  if (!got_hello_) {
    detail = "proof before hello";
    return errc::protocol_violation;
  }
  if (!decode(payload, proof)) {
    detail = "malformed proof frame";
    return errc::malformed_payload;
  }
  auto expected = compute_proof(settings_.keys, other(settings_.role), transcript_);
  if (!proof_matches(expected, proof.mac)) {
    detail = "the peer's proof does not match the authkey and this handshake";
    return errc::authentication_failed;
  }
  io_established_ = true;
  handshake_timer_.cancel();
  peer_info peer{peer_hello_.pid, peer_hello_.fingerprint, peer_hello_.node};
  // The layer above may still refuse this peer; until it accepts, frames
  // queued by other threads wait, as during the handshake.
  if (auto err = handler_->on_established(*this, peer, detail))
    return err;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (closed_)
      return {};
    established_ = true;
    kick_writer(guard);
  }
  start_heartbeats();
  log("transport", log_level::debug, "connection to pid ", peer.pid, " established");
  return {};
}

// -- closing ------------------------------------------------------------------

void connection::refuse_and_close(std::error_code reason, std::string detail) {
  refuse_payload refusal;
  refusal.code = static_cast<std::uint8_t>(reason.value());
  refusal.reason = detail.empty() ? reason.message() : detail;
  std::vector<char> frame;
  append_frame(frame, frame_kind::refuse, encode(refusal));
  // Best effort and never blocking: the peer may be the reason we close. Not
  // while a write is in flight, whose frame these bytes would cut in two.
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!writing_ && !closed_) {
      // A TLS peer gets the refusal encrypted, or the alert of a failed TLS
      // handshake; a plain one in plain proctor.
      std::vector<char> bytes;
      if (tls_ && !tls_->peer_is_plain()) {
        if (tls_->handshake_done())
          tls_->encrypt(frame);
        tls_->take_output(bytes);
      } else {
        bytes = std::move(frame);
      }
      (void) ::send(socket_.native_handle(), bytes.data(), bytes.size(),
                    MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  }
  do_close(reason, std::move(detail));
}

void connection::close(std::error_code reason, std::string detail) {
  boost::asio::post(executor(), [self = shared_from_this(), reason,
                                 detail = std::move(detail)]() mutable {
    self->do_close(reason, std::move(detail));
  });
}

void connection::close_when_drained(std::error_code reason, std::string detail) {
  boost::asio::post(executor(), [self = shared_from_this(), reason,
                                 detail = std::move(detail)]() mutable {
    if (!self->handler_ || self->close_when_drained_)
      return;
    self->close_when_drained_.emplace(reason, std::move(detail));
    // The pending read comes back, with bytes it took or cancelled, and
    // do_read decides. A pending write wait ends too: the peer reads no more.
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void connection::do_close(std::error_code reason, std::string detail) {
  std::uint32_t pid;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return;
    closed_ = true;
    established_ = false;
    pending_.clear();
    pending_bytes_ = 0;
    pid = peer_pid_;
    writable_.notify_all();
  }
  // An orderly end (the peer went, or this side shut a service down) is
  // news; a protocol or authentication failure is a warning.
  auto level = reason == errc::connection_closed || reason == errc::owner_gone
                 ? log_level::info
                 : log_level::warning;
  log("transport", level, "closing connection to pid ", pid, ": ", reason.message(),
      detail.empty() ? "" : " (", detail, detail.empty() ? "" : ")");
  handshake_timer_.cancel();
  heartbeat_timer_.cancel();
  // Descriptors that came for frames nobody will read (io thread only).
  arrived_fds_.clear();
  // Shut down but keep the fd: another thread may be inside ::send on it, and
  // a closed fd number could be reused by an unrelated socket meanwhile.
  boost::system::error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  socket_.cancel(ignored);
  if (auto handler = std::move(handler_))
    handler->on_closed(*this, reason, detail);
}

} // namespace proctor::internal
