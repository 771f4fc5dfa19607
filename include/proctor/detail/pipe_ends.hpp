#pragma once

// The internals behind pipe.hpp that its templates need; not API.

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

#include "proctor/detail/segments.hpp"
#include "proctor/errc.hpp"
#include "proctor/task.hpp"

namespace proctor {

class runtime;
class waitable;

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

  /// Sends `x`; its proctor::bytes in shared memory go as descriptors to a
  /// process of this host.
  template <class T>
  void send_value(const T& x) {
    segment_sink shared;
    shared.capacity = max_segments_per_message;
    std::vector<char> bytes;
    {
      std::optional<sink_scope> scope;
      if (shares_memory())
        scope.emplace(shared);
      bytes = encode_value(x);
    }
    send_bytes(bytes, shared.refs);
  }

  template <class T>
  T recv_value(std::optional<std::chrono::milliseconds> timeout) {
    auto message = recv_message(timeout);
    return decode_value<T>(message.bytes, message.shared.get());
  }

  struct received {
    std::vector<char> bytes;
    std::unique_ptr<segment_source> shared; ///< what came with it, if anything
  };

  bool shares_memory() const;
  void send_bytes(const std::vector<char>& bytes, const segment_refs& shared);
  received recv_message(std::optional<std::chrono::milliseconds> timeout);
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

} // namespace proctor
