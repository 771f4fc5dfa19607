#include "transport/socket.hpp"

#include <cstring>
#include <future>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

using generic_endpoint = boost::asio::generic::stream_protocol::endpoint;

void set_nodelay(int fd, const endpoint& ep) {
  if (ep.kind != endpoint::scheme::tcp)
    return;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// The socket addresses `ep` stands for (several for a tcp host name).
std::error_code addresses_of(const endpoint& ep, std::vector<generic_endpoint>& out,
                             std::string& detail) {
  if (ep.kind != endpoint::scheme::tcp) {
    out.push_back(unix_socket_address(ep));
    return {};
  }
  boost::asio::io_context scratch;
  boost::asio::ip::tcp::resolver resolver{scratch};
  boost::system::error_code ec;
  auto results = resolver.resolve(ep.host, std::to_string(ep.port),
                                  boost::asio::ip::tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    detail = "cannot resolve " + ep.host + ": " + (ec ? ec.message() : "no address");
    return errc::invalid_endpoint;
  }
  for (auto& entry : results)
    out.emplace_back(entry.endpoint());
  return {};
}

std::uint16_t port_of(const generic_endpoint& ep) {
  auto* addr = ep.data();
  if (addr->sa_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port);
  if (addr->sa_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
  return 0;
}

} // namespace

// -- listener -----------------------------------------------------------------

listener::listener(boost::asio::io_context& io, endpoint local)
  : acceptor_(io), local_(std::move(local)) {
}

std::shared_ptr<listener> listener::open(boost::asio::io_context& io, const endpoint& ep,
                                         std::error_code& ec, std::string& detail) {
  std::vector<generic_endpoint> addresses;
  if ((ec = addresses_of(ep, addresses, detail)))
    return nullptr;
  std::shared_ptr<listener> result{new listener(io, ep)};
  auto& acceptor = result->acceptor_;
  boost::system::error_code bec;
  auto& address = addresses.front();
  if (!acceptor.open(address.protocol(), bec) && ep.kind == endpoint::scheme::tcp)
    acceptor.set_option(boost::asio::socket_base::reuse_address{true}, bec);
  if (!bec)
    acceptor.bind(address, bec);
  if (!bec)
    acceptor.listen(boost::asio::socket_base::max_listen_connections, bec);
  if (bec) {
    detail = "cannot listen on " + ep.to_string() + ": " + bec.message();
    ec = errc::connect_failed;
    return nullptr;
  }
  if (ep.kind == endpoint::scheme::tcp)
    result->local_.port = port_of(acceptor.local_endpoint());
  ec = {};
  return result;
}

void listener::start(accept_hook on_accept) {
  on_accept_ = std::move(on_accept);
  boost::asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->accept_next();
  });
}

void listener::accept_next() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!acceptor_.is_open())
    return;
  acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec,
                                                     connection::socket_type socket) {
    {
      std::lock_guard<std::mutex> guard{self->mtx_};
      if (ec == boost::asio::error::operation_aborted || !self->acceptor_.is_open())
        return;
    }
    if (ec) {
      // Out of fds, most likely: back off instead of spinning.
      log("transport", log_level::warning, "accept on ", self->local_.to_string(), ": ", ec.message());
      auto timer = std::make_shared<boost::asio::steady_timer>(self->acceptor_.get_executor());
      timer->expires_after(std::chrono::milliseconds{100});
      timer->async_wait([self, timer](auto) { self->accept_next(); });
      return;
    }
    set_nodelay(socket.native_handle(), self->local_);
    self->on_accept_(std::move(socket));
    self->accept_next();
  });
}

void listener::close() {
  // Any thread: the io thread may be starting the next accept on it.
  std::lock_guard<std::mutex> guard{mtx_};
  boost::system::error_code ignored;
  if (!acceptor_.is_open())
    return;
  acceptor_.close(ignored);
  if (local_.kind == endpoint::scheme::unix_path)
    ::unlink(local_.path.c_str());
}

// -- connect ------------------------------------------------------------------

namespace {

/// One connect with a deadline, trying each address in turn; every step runs
/// on the io thread, and `finished` settles the race between the deadline
/// and the last attempt.
struct connect_attempt : std::enable_shared_from_this<connect_attempt> {
  connection::socket_type socket;
  boost::asio::steady_timer deadline;
  std::vector<generic_endpoint> addresses;
  std::size_t next = 0;
  std::promise<boost::system::error_code> done;
  bool finished = false;

  connect_attempt(boost::asio::io_context& io, std::vector<generic_endpoint> xs)
    : socket(io), deadline(io), addresses(std::move(xs)) {
  }

  void begin(std::chrono::milliseconds timeout) {
    deadline.expires_after(timeout);
    deadline.async_wait([self = shared_from_this()](auto ec) {
      if (ec == boost::asio::error::operation_aborted || self->finished)
        return;
      self->finish(boost::asio::error::timed_out);
      boost::system::error_code ignored;
      self->socket.close(ignored);
    });
    try_next(boost::asio::error::host_unreachable);
  }

  void try_next(boost::system::error_code last) {
    if (finished)
      return;
    if (next == addresses.size()) {
      finish(last);
      return;
    }
    auto& address = addresses[next++];
    boost::system::error_code ignored;
    socket.close(ignored);
    socket.open(address.protocol(), ignored);
    socket.async_connect(address, [self = shared_from_this()](auto ec) {
      if (!ec)
        self->finish(ec);
      else
        self->try_next(ec);
    });
  }

  void finish(boost::system::error_code ec) {
    if (finished)
      return;
    finished = true;
    deadline.cancel();
    done.set_value(ec);
  }
};

} // namespace

std::error_code connect_to(boost::asio::io_context& io, const endpoint& ep,
                           std::chrono::milliseconds timeout,
                           connection::socket_type& out, std::string& detail) {
  std::vector<generic_endpoint> addresses;
  if (auto ec = addresses_of(ep, addresses, detail))
    return ec;
  auto state = std::make_shared<connect_attempt>(io, std::move(addresses));
  auto result = state->done.get_future();
  boost::asio::post(io, [state, timeout] { state->begin(timeout); });
  auto ec = result.get();
  if (ec) {
    detail = "cannot connect to " + ep.to_string() + ": " + ec.message();
    boost::asio::post(io, [state] {
      boost::system::error_code ignored;
      state->socket.close(ignored);
    });
    return ec == boost::asio::error::timed_out ? errc::timeout : errc::connect_failed;
  }
  // The connect is complete and nothing else touches the socket: hand it over.
  set_nodelay(state->socket.native_handle(), ep);
  auto protocol = state->addresses[state->next - 1].protocol();
  out.assign(protocol, state->socket.release());
  return {};
}

} // namespace proctor::internal
