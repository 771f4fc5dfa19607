#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/deserializer.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "proctor/errc.hpp"
#include "proctor/task.hpp"

namespace proctor {

class runtime;
class waitable;

/// recv() on a pipe whose other end is closed or gone, once every message
/// it sent was received; or send() to such a pipe (Python's EOFError and
/// BrokenPipeError).
class end_of_pipe : public error {
public:
  explicit end_of_pipe(const std::string& what) : error(errc::end_of_pipe, what) {
  }
};

namespace internal {

class pipe_socket;

/// What a serialized pipe end carries: where the process holding the socket
/// hands it over, and the one-time secret that proves the right to take it.
struct pipe_ticket {
  std::string host;   ///< boot id of the holder's machine
  std::string broker; ///< the holder's abstract socket name
  std::uint64_t id = 0;
  std::uint64_t token_hi = 0;
  std::uint64_t token_lo = 0;
  std::uint8_t failure = 0; ///< errc if the end could not be offered
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pipe_ticket& x) {
  return f(caf::meta::type_name("proctor::pipe_ticket"), x.host, x.broker, x.id,
           x.token_hi, x.token_lo, x.failure, x.detail);
}

/// The untyped part of every pipe end: a connected Unix socket shared by the
/// copies of the handle in this process.
class pipe_base {
public:
  /// Closes this end for every copy of the handle in this process; the other
  /// end then reads end_of_pipe after the messages already sent. On an end
  /// already passed to another process it only drops this process's copy:
  /// the hand-over still completes (Python's `p.start(); child_conn.close()`).
  void close();

  /// True after close(), or once the end was passed to another process.
  bool closed() const;

  friend bool operator==(const pipe_base& x, const pipe_base& y) noexcept {
    return x.socket_ == y.socket_;
  }

protected:
  pipe_base() = default;
  explicit pipe_base(std::shared_ptr<pipe_socket> socket) : socket_(std::move(socket)) {
  }

  void send_bytes(const std::vector<char>& bytes);
  std::vector<char> recv_bytes(std::optional<std::chrono::milliseconds> timeout);
  bool poll_impl(std::chrono::milliseconds timeout);

  /// The descriptor of an open end, or errc closed/moved/... thrown.
  int native_fd() const;
  /// Takes the descriptor out of the end (which is then closed here).
  int release_fd();

  /// Serialization: the end moves to the process that deserializes it.
  pipe_ticket offer() const;
  void claim(const pipe_ticket& ticket);

  template <class Inspector>
  static typename Inspector::result_type inspect_end(Inspector& f, pipe_base& x) {
    auto name = caf::meta::type_name("proctor::pipe_end");
    if constexpr (std::is_base_of_v<caf::serializer, Inspector>) {
      auto ticket = x.offer();
      return f(name, ticket);
    } else if constexpr (std::is_base_of_v<caf::deserializer, Inspector>) {
      pipe_ticket ticket;
      if (auto err = f(name, ticket))
        return err;
      x.claim(ticket);
      return {};
    } else {
      return f(name); // printing a handle must not offer it
    }
  }

private:
  friend class proctor::waitable;

  pipe_socket& socket() const;

  std::shared_ptr<pipe_socket> socket_;
};

/// A connected pair of sockets for one pipe.
std::pair<std::shared_ptr<pipe_socket>, std::shared_ptr<pipe_socket>>
make_pipe_sockets(runtime& rt);

} // namespace internal

/// One end of a pipe carrying values of T. pipe_end<T> sends and receives;
/// pipe_reader<T> and pipe_writer<T> are the ends of a one-way pipe, and the
/// operations they lack do not compile.
///
/// A handle is a value: copies in one process share the end. Passed to
/// another process (as a task argument, inside a message or a queue item),
/// the end moves there: the socket itself is handed over, so messages then go
/// straight between the two processes. Using the end afterwards in the
/// sending process throws errc::moved; passing it to a second process or
/// task fails at that call with errc::moved (errc::closed for a closed
/// end), and the call's other ends stay here. Inside a message or a queue
/// item the failure travels instead, and the receiving end throws it at
/// its first use. An end that was never delivered (its process ended
/// before starting its task) is closed, so the other end reads end_of_pipe
/// instead of waiting forever. The sending process hands the
/// socket over when the receiver takes it (as it decodes the value, or just
/// after, for a message decoded on the io thread): a process that sends an
/// end and exits at once may be gone before that, and the receiver's end
/// then throws owner_gone. Pipes join processes of one host.
///
/// One thread at a time sends and one receives on an end; concurrent calls
/// of the same kind are serialized, never interleaved.
template <class T, bool CanSend, bool CanRecv>
class basic_pipe_end : public internal::pipe_base {
public:
  /// An invalid handle, to be assigned or deserialized into.
  basic_pipe_end() = default;

  explicit basic_pipe_end(std::shared_ptr<internal::pipe_socket> socket)
    : pipe_base(std::move(socket)) {
  }

  /// Blocks while the socket buffer is full. Throws end_of_pipe if the other
  /// end is closed, errc::frame_too_large (nothing sent) if the encoded value
  /// exceeds the runtime's maximum frame size.
  void send(const T& x)
    requires CanSend
  {
    send_bytes(internal::encode_value(x));
  }

  /// The next message; end_of_pipe once the other end is closed or gone and
  /// every message it sent was received.
  T recv()
    requires CanRecv
  {
    return internal::decode_value<T>(recv_bytes(std::nullopt));
  }

  /// Throws timeout_error if no message starts arriving within `timeout`.
  T recv(std::chrono::milliseconds timeout)
    requires CanRecv
  {
    return internal::decode_value<T>(recv_bytes(timeout));
  }

  /// True if recv() would not block (a message is there, or the end of the
  /// pipe); waits at most `timeout`.
  bool poll(std::chrono::milliseconds timeout = std::chrono::milliseconds{0})
    requires CanRecv
  {
    return poll_impl(timeout);
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, basic_pipe_end& x) {
    return inspect_end(f, x);
  }
};

template <class T>
using pipe_end = basic_pipe_end<T, true, true>;

template <class T>
using pipe_reader = basic_pipe_end<T, false, true>;

template <class T>
using pipe_writer = basic_pipe_end<T, true, false>;

/// Selects the one-way pipe: pipe<T>(rt, proctor::one_way).
struct one_way_t {
  explicit one_way_t() = default;
};
inline constexpr one_way_t one_way{};

/// Python's Pipe(): two connected duplex ends.
template <class T>
std::pair<pipe_end<T>, pipe_end<T>> pipe(runtime& rt) {
  auto [a, b] = internal::make_pipe_sockets(rt);
  return {pipe_end<T>{std::move(a)}, pipe_end<T>{std::move(b)}};
}

/// Python's Pipe(duplex=False): (receive-only end, send-only end).
template <class T>
std::pair<pipe_reader<T>, pipe_writer<T>> pipe(runtime& rt, one_way_t) {
  auto [a, b] = internal::make_pipe_sockets(rt);
  return {pipe_reader<T>{std::move(a)}, pipe_writer<T>{std::move(b)}};
}

} // namespace proctor
