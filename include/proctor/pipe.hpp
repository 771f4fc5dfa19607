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
#include "proctor/detail/pipe_ends.hpp"

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
    send_value(x);
  }

  /// The next message; end_of_pipe once the other end is closed or gone and
  /// every message it sent was received.
  T recv()
    requires CanRecv
  {
    return recv_value<T>(std::nullopt);
  }

  /// Throws timeout_error if no message starts arriving within `timeout`.
  T recv(std::chrono::milliseconds timeout)
    requires CanRecv
  {
    return recv_value<T>(timeout);
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
