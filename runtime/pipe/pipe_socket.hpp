#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proctor/errc.hpp"
#include "transport/base/scoped_fd.hpp"

namespace proctor::internal {

/// One end of a pipe: a connected Unix stream socket carrying messages as a
/// 4-byte little-endian length and that many bytes. A message that carries
/// descriptors (a Unix socket only) sets the length's top bit and one more
/// byte, their count; they come with its first byte (SCM_RIGHTS). Calls block on the
/// caller's thread (no io thread in between), which keeps a round trip at
/// two wake-ups, as with a raw socket.
class pipe_socket {
public:
  using clock = std::chrono::steady_clock;

  /// Takes ownership of `fd`; messages over `max_message` bytes are refused.
  pipe_socket(int fd, std::uint32_t max_message);

  /// An end that arrived broken: every call throws error(code, detail).
  pipe_socket(errc code, std::string detail);

  /// Opens a descriptor, or says why it cannot (code and detail).
  using opener = std::function<int(errc& code, std::string& detail)>;

  /// An end whose descriptor `open` fetches later (an end decoded on the io
  /// thread, which must not wait for another process): by open_if_deferred,
  /// or at the first use, which waits for a fetch under way. An end dropped
  /// or closed unfetched is fetched and closed on the runtime's thread for
  /// blocking work, so that its holder lets it go.
  pipe_socket(opener open, std::uint32_t max_message);

  /// Fetches a deferred end's descriptor (once, whichever thread comes
  /// first; the others wait for it).
  void open_if_deferred();

  ~pipe_socket();

  pipe_socket(const pipe_socket&) = delete;
  pipe_socket& operator=(const pipe_socket&) = delete;

  /// Sends a message, with up to max_passed_fds descriptors (only where
  /// passes_descriptors()).
  void send(std::span<const char> message, std::span<const int> fds = {});

  /// True if the end is a Unix socket, whose messages may carry descriptors.
  bool passes_descriptors();

  /// Waits until `deadline` (forever if none) for a whole message; the
  /// descriptors that came with it are closed.
  std::vector<char> recv(std::optional<clock::time_point> deadline);

  struct message {
    std::vector<char> bytes;
    std::vector<scoped_fd> fds;
  };

  /// recv, keeping the descriptors that came with the message.
  message recv_with_descriptors(std::optional<clock::time_point> deadline);

  /// True once a whole message or the end of the pipe is there.
  bool poll(clock::time_point deadline);

  /// For wait(): true if a message or the end of the pipe is already here;
  /// else, in `fd`, the descriptor to poll for more. Throws unless open.
  bool ready_or_descriptor(int& fd);

  /// Shuts the socket down, which also wakes a recv blocked on another thread.
  void close();

  bool closed() const;

  /// The end is being passed to another process: from now on it reads
  /// `moved` here, and close() leaves it to the hand-over, which it must not
  /// break. With `spare`, a duplicate of the descriptor goes there. Returns
  /// why the end cannot be offered (closed, moved, ...) or errc::ok.
  errc begin_offer(int* spare);

  /// Nobody claimed the offered end: it is closed, so the other end reads
  /// end_of_pipe; with `restore` (the value carrying it was never sent) it
  /// is open here again.
  void end_offer(bool restore);

  /// Lends the descriptor to `transfer` (which passes it to another process)
  /// unless the end is closed or gone; on success this end is moved: its
  /// descriptor is closed here as soon as no call is using it. Returns why
  /// it could not be lent (closed, moved, connection_closed) or errc::ok.
  errc hand_over(const std::function<bool(int fd)>& transfer);

  /// The descriptor while the end is open; throws why it is not.
  int native();

  /// Gives the descriptor up to the caller: the end is closed here without
  /// closing it. Throws why it is not open.
  int release_native();

private:
  enum class state { deferred, open, offered, closed, moved, broken };

  /// Fetches and closes a deferred end's descriptor off the calling thread.
  static void discard(opener open);

  /// The descriptor, pinned open until release(); throws unless open.
  int acquire();
  void release();

  /// acquire() for a scope.
  struct pin {
    explicit pin(pipe_socket& s) : socket(s), fd(s.acquire()) {
    }
    ~pin() {
      socket.release();
    }
    pipe_socket& socket;
    int fd;
  };
  [[noreturn]] void throw_unusable() const;
  /// The peer broke the protocol: the end reads malformed_payload from now
  /// on (under recv_mtx_).
  [[noreturn]] void break_with(std::string detail);

  /// Reads until the inbox holds a whole message or the end; false on timeout.
  bool fill(std::optional<clock::time_point> deadline);
  bool has_message() const;

  mutable std::mutex mtx_;
  std::condition_variable opened_; ///< a deferred end stopped being one
  opener open_later_;
  bool opening_ = false;
  int fd_;
  int users_ = 0;
  state state_;
  errc code_ = errc::ok;
  std::string detail_;
  std::uint32_t max_message_;

  std::mutex send_mtx_;
  std::mutex recv_mtx_;
  std::vector<char> inbox_; ///< received bytes [begin_, end_) not yet returned
  std::deque<scoped_fd> inbox_fds_; ///< descriptors received, oldest first
  std::atomic<int> unix_{-1}; ///< passes_descriptors(), once known (-1: not yet)
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
};

} // namespace proctor::internal
