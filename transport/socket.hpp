#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include "transport/connection.hpp"
#include "transport/endpoint.hpp"

namespace proctor::internal {

/// A listening socket for any endpoint scheme, and what it accepts.
class listener : public std::enable_shared_from_this<listener> {
public:
  using acceptor_type =
    boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol,
                                       boost::asio::io_context::executor_type>;

  /// Called on the io thread with each accepted, configured socket.
  using accept_hook = std::function<void(connection::socket_type)>;

  /// Binds and listens on `ep` (a tcp port of 0 picks a free one). A unix
  /// path that exists is refused rather than removed: it may be in use.
  static std::shared_ptr<listener> open(boost::asio::io_context& io, const endpoint& ep,
                                        std::error_code& ec, std::string& detail);

  /// The bound endpoint, with the real port for tcp.
  const endpoint& local() const noexcept {
    return local_;
  }

  /// Accepts until `close`; call once, from any thread.
  void start(accept_hook on_accept);

  /// Stops accepting and removes a unix socket file. Thread-safe.
  void close();

private:
  listener(boost::asio::io_context& io, endpoint local);

  void accept_next();

  std::mutex mtx_; ///< guards acceptor_: close() comes from any thread
  acceptor_type acceptor_;
  endpoint local_;
  accept_hook on_accept_;
};

/// Connects to `ep` within `timeout` (name resolution included). Blocks the
/// calling thread, which must not be the io thread; the returned socket is
/// configured like accepted ones (TCP_NODELAY on tcp). `out` is a closed
/// socket of `io`; the connected fd is assigned to it.
std::error_code connect_to(boost::asio::io_context& io, const endpoint& ep,
                           std::chrono::milliseconds timeout,
                           connection::socket_type& out, std::string& detail);

} // namespace proctor::internal
