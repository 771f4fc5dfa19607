#pragma once

// Threads. Every connection of a process runs on one io thread (the
// runtime's io_context). On it run: reads, frame decoding, the handshake,
// the handler's callbacks (on_established, on_frame, on_closed), writes the
// caller's thread left unfinished, and timers. The io thread never blocks:
// its sends never wait for room, it takes only short-lived mutexes (a
// connection's mtx_, which nobody holds across a system call that can
// block, and the locks of the layers above, held just as briefly).
//
// Any thread may call send, close, flush (never the io thread: it waits)
// and established. A sending thread takes mtx_ to queue its frame and may
// write it right there with a non-blocking send; it waits on `writable_`
// only for a message frame while more than max_pending_bytes are queued.
// Control frames (is_control_kind) never wait, so a thread holding a lock
// the io thread needs cannot deadlock against it.
//
// Writes. Small frames are copied into one buffer and go out together; a
// large payload handed over by value is written from where it is, gathered
// with the others in one sendmsg. On a Unix socket without TLS a frame may
// carry descriptors (SCM_RIGHTS): they are attached to the frame's first
// byte, so the reader has them by the time it has the frame's header.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>

#include "transport/base/scoped_fd.hpp"
#include "transport/frame.hpp"
#include "transport/handshake.hpp"

namespace proctor::internal {

class tls_context;
class tls_session;

struct connection_settings {
  handshake_keys keys;                ///< derived from the authkey; never sent
  handshake_role role = handshake_role::initiator;
  std::uint64_t fingerprint = 0;      ///< of this binary's registered names
  std::vector<char> node;             ///< opaque identity sent in `hello`
  std::uint32_t max_frame_size = default_max_frame_size;
  /// The largest shared-memory payload a frame's descriptor may bring;
  /// checked by the layer above before it maps one.
  std::uint64_t max_shared_size = default_max_shared_size;
  std::chrono::milliseconds handshake_timeout{5000};
  /// Bytes queued for writing beyond which senders block (backpressure).
  std::size_t max_pending_bytes = 64u << 20;
  /// After the handshake, a heartbeat frame goes out this often, and a peer
  /// from which nothing arrived for `dead_after` (or for three of the
  /// peer's own intervals, if longer) is closed with peer_unresponsive: a
  /// frozen process or a partition, which TCP alone does not report. Zero:
  /// no heartbeats (a worker on a local socketpair, whose end the kernel
  /// reports, and which a debugger may stop); the peer is told, and does
  /// not expect any.
  std::chrono::milliseconds heartbeat_interval{0};
  std::chrono::milliseconds dead_after{0};
  /// TLS 1.3 under the frames when set (transport/tls.hpp). An initiator
  /// checks that the server's certificate names `tls_peer_host`.
  std::shared_ptr<const tls_context> tls;
  std::string tls_peer_host;
};

/// What the handshake learned about the other side.
struct peer_info {
  std::uint32_t pid = 0;
  std::uint64_t fingerprint = 0;
  std::vector<char> node;
};

class connection;

/// A descriptor to send with a frame; `owner` keeps it open until the frame
/// is written or dropped.
struct passed_fd {
  int fd = -1;
  std::shared_ptr<const void> owner;
};

/// The layer above. Every callback runs on the connection's io thread, one at
/// a time, and must not block.
class connection_handler {
public:
  virtual ~connection_handler();

  /// The peer proved it holds the key. Returning an error refuses it (the
  /// connection closes with that reason); otherwise frames may flow both ways.
  virtual std::error_code on_established(connection& conn, const peer_info& peer,
                                         std::string& detail) = 0;

  /// One whole frame after the handshake. The payload is valid only during
  /// the call, and so are the descriptors that came with it (see
  /// connection::take_descriptors). A returned error closes the connection
  /// with that reason.
  virtual std::error_code on_frame(connection& conn, frame_kind kind,
                                   std::span<const char> payload) = 0;

  /// Called once, last: the connection is closed for `reason`. Frames queued
  /// but not yet written are dropped.
  virtual void on_closed(connection& conn, std::error_code reason,
                         const std::string& detail) = 0;
};

/// A framed, authenticated, full-duplex byte stream over a Unix domain or TCP
/// socket. Reads run on the io thread; `send` may be called from any thread.
class connection : public std::enable_shared_from_this<connection> {
public:
  /// Sends closer together than this are treated as a burst and coalesced.
  static constexpr std::chrono::microseconds burst_window{20};

  using socket_type =
    boost::asio::basic_stream_socket<boost::asio::generic::stream_protocol,
                                     boost::asio::io_context::executor_type>;

  /// Takes ownership of a connected socket. Nothing happens until `start`.
  static std::shared_ptr<connection>
  make(socket_type socket, connection_settings settings,
       std::shared_ptr<connection_handler> handler);

  ~connection();

  /// Sends `hello` and begins reading. Thread-safe; call once.
  void start();

  /// Waits until every queued frame is in the socket, the connection is
  /// closed, or `deadline` passes; false on the deadline. Not on the io thread.
  bool flush(std::chrono::steady_clock::time_point deadline);

  /// Queues one frame. Thread-safe. Frames from one thread keep their order.
  /// Frames queued before the handshake ends wait for it. A message frame
  /// blocks while more than max_pending_bytes wait to be written, except on
  /// the io thread; a control frame never does.
  /// @returns frame_too_large (nothing queued) or connection_closed.
  std::error_code send(frame_kind kind, std::span<const char> payload);

  /// As above, for a payload the connection takes over: a large one is
  /// written from where it is, never copied. `fds` go with the frame, at
  /// most max_passed_fds, only where passes_descriptors(); otherwise
  /// bad_argument and nothing is queued.
  std::error_code send(frame_kind kind, std::vector<char>&& payload,
                       std::vector<passed_fd> fds = {});

  /// True on a Unix socket without TLS: frames may carry descriptors.
  bool passes_descriptors() const noexcept {
    return passes_fds_;
  }

  /// The descriptors that came with the frame being delivered, in the order
  /// sent; only inside connection_handler::on_frame. Those not taken are
  /// closed when on_frame returns.
  std::vector<scoped_fd> take_descriptors();

  /// Closes with `reason` (logged); the handler's on_closed follows on the io
  /// thread. Thread-safe and idempotent.
  void close(std::error_code reason, std::string detail = {});

  /// The peer's process has ended: delivers every whole frame it left in the
  /// socket, then closes with `reason`. Its last messages (a queue's puts, a
  /// reply) may still be unread when its exit is noticed; close() would drop
  /// them. Thread-safe.
  void close_when_drained(std::error_code reason, std::string detail = {});

  /// True after the handshake and before close.
  bool established() const noexcept;

  /// Bytes queued and not yet taken by the socket.
  std::size_t queued_bytes() const;

  /// How long ago the last byte arrived from the peer.
  std::chrono::steady_clock::duration heard_ago() const noexcept;

  /// The peer's pid, once its hello has arrived (for log lines).
  std::uint32_t peer_pid() const noexcept;

  const connection_settings& settings() const noexcept {
    return settings_;
  }

  boost::asio::io_context::executor_type executor() noexcept;

private:
  connection(socket_type socket, connection_settings settings,
             std::shared_ptr<connection_handler> handler);

  void do_read();
  /// Reads with recvmsg, keeping the descriptors that come along.
  void receive_with_descriptors();
  void on_read(std::size_t bytes);
  void on_read_failed(const boost::system::error_code& ec);
  /// TLS: decrypts what the socket delivered into read_buf_.
  std::error_code on_tls_read(std::size_t bytes, std::string& detail);
  /// TLS: moves plaintext into the session, its records into inflight_;
  /// false if there is nothing to write (under mtx_).
  bool fill_from_tls();
  std::error_code consume_frames(std::string& detail);
  std::error_code handle_handshake_frame(frame_kind kind,
                                         std::span<const char> payload,
                                         std::string& detail);
  std::error_code on_hello(std::span<const char> payload, std::string& detail);
  std::error_code on_proof(std::span<const char> payload, std::string& detail);
  void send_handshake(frame_kind kind, std::vector<char> payload);
  void refuse_and_close(std::error_code reason, std::string detail);
  /// Queues a frame (under mtx_): `copied` goes into the shared buffer,
  /// `owned` into a chunk of its own when it is large or carries `fds`.
  void enqueue(frame_kind kind, std::span<const char> copied, std::vector<char>&& owned,
               std::vector<passed_fd>&& fds);
  void kick_writer(std::unique_lock<std::mutex>& guard);
  /// Writes what inflight_ holds until the socket is full, with one sendmsg
  /// per run of chunks (a chunk that carries descriptors starts a run).
  /// Only the writer calls it, without mtx_. Returns the bytes written and
  /// sets `error` to errno if the socket failed.
  std::size_t write_inflight(int& error);
  /// After a write of `n` bytes (under mtx_): true once inflight_ is empty.
  bool wrote(std::size_t n);
  /// Whether a caller's frames should wait for the io thread (a burst).
  bool defer_to_io_thread();
  void do_async_write();
  /// A write failed: stop writing, keep reading (io thread).
  void stop_writing(std::string detail);
  void do_close(std::error_code reason, std::string detail);
  /// After the handshake: tells the peer our interval, and ticks if it is
  /// not zero.
  void start_heartbeats();
  /// Sends a heartbeat and checks the peer's, every heartbeat_interval.
  void heartbeat_tick();
  std::error_code on_heartbeat(std::span<const char> payload, std::string& detail);

  using steady_timer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>,
                                      boost::asio::io_context::executor_type>;

  socket_type socket_;
  connection_settings settings_;
  std::shared_ptr<connection_handler> handler_;
  steady_timer handshake_timer_;
  steady_timer heartbeat_timer_;
  /// When bytes last arrived (steady clock ticks): written by the io thread,
  /// read by any.
  std::atomic<std::chrono::steady_clock::rep> last_heard_{0};

  /// Null on a plain connection. Its own mutex guards it; a thread may take
  /// it while holding mtx_, never the other way round.
  std::unique_ptr<tls_session> tls_;

  // -- io thread only ---------------------------------------------------------
  std::vector<char> tls_in_; ///< TLS records as read, before decryption
  bool tls_up_ = false;      ///< the TLS handshake is done (io thread only)
  std::vector<char> read_buf_;
  /// Descriptors received and not yet claimed by a frame, oldest first.
  std::deque<scoped_fd> arrived_fds_;
  /// The descriptors of the frame being delivered.
  std::vector<scoped_fd> frame_fds_;
  /// The last recvmsg emptied the socket: wait for readiness before the next.
  bool drained_ = false;
  /// Set by close_when_drained: the reason to close with once the socket
  /// holds no more bytes.
  std::optional<std::pair<std::error_code, std::string>> close_when_drained_;
  std::size_t read_begin_ = 0;
  std::size_t read_end_ = 0;
  std::vector<std::uint8_t> own_nonce_;
  std::vector<char> own_hello_;  ///< as sent: half of the transcript
  bool got_hello_ = false;
  hello_payload peer_hello_;
  std::array<std::uint8_t, digest_size> transcript_{};
  bool io_established_ = false;  ///< established_ as the reader sees it
  /// The peer's heartbeat interval as its heartbeats say; nullopt until the
  /// first arrives; zero if it sends none.
  std::optional<std::chrono::milliseconds> peer_interval_;

  // -- guarded by mtx_ --------------------------------------------------------
  mutable std::mutex mtx_;
  std::condition_variable writable_;
  /// Frames written in one piece: small ones together in `head`, or one
  /// large frame's header in `head` and its payload in `body`. `fds` go
  /// with the first byte of `head`.
  struct out_chunk {
    std::vector<char> head;
    std::vector<char> body;
    std::vector<passed_fd> fds;
    std::size_t size() const noexcept {
      return head.size() + body.size();
    }
  };

  std::vector<char> handshake_out_; ///< handshake frames not yet written
  std::deque<out_chunk> pending_;   ///< frames not yet handed to the socket
  std::size_t pending_bytes_ = 0;
  /// The chunks the current write owns: changed only by the writer (the
  /// thread that set writing_), or under mtx_ while nobody writes.
  std::deque<out_chunk> inflight_;
  std::size_t inflight_offset_ = 0; ///< into inflight_.front()
  std::size_t inflight_bytes_ = 0;  ///< not yet written, under mtx_
  /// A written chunk's buffer, kept by the writer for wrote() to recycle.
  std::vector<char> written_head_;
  /// An empty buffer with room, for the next chunk of small frames.
  std::vector<char> spare_head_;
  bool writing_ = false;
  bool flush_posted_ = false;  ///< the io thread will write pending_
  std::chrono::steady_clock::time_point last_send_{}; ///< by a non-io thread
  bool established_ = false;
  bool closed_ = false;
  /// A write failed (the peer is gone): nothing more is written, and the
  /// reader goes on until the end of the stream, so that no frame the peer
  /// sent before it closed is lost.
  bool write_failed_ = false;
  std::uint32_t peer_pid_ = 0;
  const bool passes_fds_;
};

} // namespace proctor::internal
