#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proctor/pipe.hpp"
#include "proctor/detail/listener.hpp"

namespace proctor {

class runtime;

/// Python's multiprocessing.connection.Listener: processes that did not
/// start each other get a pipe_end<T> over `unix:/path`, `unix-abstract:name`
/// or `tcp://host:port` (port 0 picks one; see address()). Both sides prove
/// they know the authkey (the runtime's, unless one is given) with the
/// runtime's mutual handshake before any message passes; a received message
/// is only ever decoded as a T, never executed. Messages are not encrypted:
/// over TCP, keep to networks you trust. At most 16 connections wait for
/// accept(); more are closed at once.
template <class T>
class listener {
public:
  listener(runtime& rt, const std::string& endpoint,
           std::optional<std::string> authkey = std::nullopt)
    : impl_(internal::open_pipe_listener(rt, endpoint, std::move(authkey))) {
  }

  /// The next client's end. timeout_error if none comes within `timeout`;
  /// a client that fails the handshake makes this call throw
  /// errc::authentication_failed (or why else it failed), as Python's
  /// AuthenticationError, and the listener goes on.
  pipe_end<T> accept(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    return pipe_end<T>{internal::accept_pipe(*impl_, timeout)};
  }

  /// The endpoint bound, with the real port for tcp.
  const std::string& address() const {
    return internal::pipe_listener_address(*impl_);
  }

  /// Stops listening; a waiting accept() throws errc::closed.
  void close() {
    internal::close_pipe_listener(*impl_);
  }

private:
  std::shared_ptr<internal::pipe_listener> impl_;
};

/// Python's multiprocessing.connection.Client: an end connected to the
/// listener at `endpoint`, once both sides proved the authkey.
/// errc::connect_failed if nobody listens, errc::authentication_failed if
/// the keys differ; `timeout` bounds the connect and the handshake (30 s by
/// default).
template <class T>
pipe_end<T> client(runtime& rt, const std::string& endpoint,
                   std::optional<std::string> authkey = std::nullopt,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  return pipe_end<T>{internal::client_pipe(rt, endpoint, std::move(authkey), timeout)};
}

} // namespace proctor
