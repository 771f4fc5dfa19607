// Listener/Client: pipes between processes that did not start each other,
// over any endpoint, after the runtime's mutual handshake.
#include "runtime/pipe/pipe_listener.hpp"

#include "proctor/listener.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "proctor/runtime.hpp"
#include "runtime/pipe/pipe_handshake.hpp"
#include "runtime/pipe/pipe_socket.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/log.hpp"
#include "transport/socket.hpp"

namespace proctor::internal {

namespace {

/// Connections accepted but not yet taken by accept(); more are refused.
constexpr std::size_t max_backlog = 16;

/// The connect timeout when the caller gives none.
constexpr std::chrono::seconds default_connect_timeout{30};

endpoint parsed(const std::string& text) {
  endpoint ep;
  if (parse_endpoint(text, ep))
    throw error(errc::invalid_endpoint, "proctor: not an endpoint: \"" + text + "\"");
  return ep;
}

/// A pipe's bytes are not under TLS: with TLS configured, a pipe over tcp
/// is refused rather than opened in the clear.
endpoint pipe_endpoint(runtime& rt, const std::string& text) {
  auto ep = parsed(text);
  if (ep.kind == endpoint::scheme::tcp && internal::impl_of(rt).tls_enabled())
    throw error(errc::tls_required,
                "proctor: Listener/Client pipes do not run over TLS; with TLS configured, "
                "use a unix endpoint, or a queue served by a manager, for " + text);
  return ep;
}

/// The socket's descriptor as a blocking one of our own (the pipe's calls
/// block on it); the asio socket is closed.
int take_blocking_fd(connection::socket_type& socket) {
  int fd = ::fcntl(socket.native_handle(), F_DUPFD_CLOEXEC, 0);
  boost::system::error_code ignored;
  socket.close(ignored);
  if (fd >= 0)
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

handshake_keys keys_for(runtime& rt, const std::optional<std::string>& authkey) {
  return authkey ? derive_handshake_keys(*authkey) : internal::impl_of(rt).keys();
}

/// Runs the handshake on `fd` (closed on failure) and makes it a pipe end.
std::shared_ptr<pipe_socket> authenticated(int fd, const handshake_keys& keys,
                                           handshake_role role,
                                           std::chrono::milliseconds timeout,
                                           std::uint32_t max_message) {
  std::string detail;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (auto ec = pipe_handshake(fd, keys, role, deadline, detail)) {
    ::close(fd);
    throw error(static_cast<errc>(ec.value()), "proctor: pipe handshake failed: " + detail);
  }
  return std::make_shared<pipe_socket>(fd, max_message);
}

} // namespace

pipe_listener::pipe_listener(runtime& rt, const std::string& text,
                             std::optional<std::string> authkey)
  : keys_(keys_for(rt, authkey)),
    handshake_timeout_(
      internal::impl_of(rt).link_settings(handshake_role::acceptor).handshake_timeout),
    max_message_(internal::impl_of(rt).max_frame_size()) {
  std::error_code ec;
  std::string detail;
  server_ = listener::open(internal::impl_of(rt).io(), pipe_endpoint(rt, text), ec, detail);
  if (!server_)
    throw error(static_cast<errc>(ec.value()), "proctor: " + detail);
  address_ = server_->local().to_string();
  // On the io thread: queue the descriptor, nothing more.
  server_->start([weak = std::weak_ptr<backlog>{backlog_}](connection::socket_type socket) {
    auto b = weak.lock();
    int fd = take_blocking_fd(socket);
    if (!b || fd < 0)
      return;
    std::lock_guard<std::mutex> guard{b->mtx};
    if (b->closed || b->fds.size() >= max_backlog) {
      ::close(fd);
      return;
    }
    b->fds.push_back(fd);
    b->arrived.notify_one();
  });
}

pipe_listener::~pipe_listener() {
  close();
}

void pipe_listener::close() {
  server_->close();
  std::lock_guard<std::mutex> guard{backlog_->mtx};
  backlog_->closed = true;
  for (int fd : backlog_->fds)
    ::close(fd);
  backlog_->fds.clear();
  backlog_->arrived.notify_all();
}

std::shared_ptr<pipe_socket>
pipe_listener::accept(std::optional<std::chrono::milliseconds> timeout) {
  int fd;
  {
    std::unique_lock<std::mutex> guard{backlog_->mtx};
    auto some = [&] { return backlog_->closed || !backlog_->fds.empty(); };
    if (!timeout)
      backlog_->arrived.wait(guard, some);
    else if (!backlog_->arrived.wait_for(guard, *timeout, some))
      throw timeout_error("proctor: no connection within the timeout");
    if (backlog_->closed)
      throw error(errc::closed, "proctor: the listener is closed");
    fd = backlog_->fds.front();
    backlog_->fds.pop_front();
  }
  return authenticated(fd, keys_, handshake_role::acceptor, handshake_timeout_, max_message_);
}

std::shared_ptr<pipe_socket> client_pipe(runtime& rt, const std::string& text,
                                         std::optional<std::string> authkey,
                                         std::optional<std::chrono::milliseconds> timeout) {
  auto ep = pipe_endpoint(rt, text);
  auto limit = timeout ? *timeout
                       : std::chrono::milliseconds{default_connect_timeout};
  auto& impl = internal::impl_of(rt);
  connection::socket_type socket{impl.io()};
  std::string detail;
  if (auto ec = connect_to(impl.io(), ep, limit, socket, detail))
    throw error(static_cast<errc>(ec.value()), "proctor: cannot connect to " + text + ": " + detail);
  int fd = take_blocking_fd(socket);
  if (fd < 0)
    throw error(errc::connect_failed, "proctor: cannot connect to " + text);
  return authenticated(fd, keys_for(rt, authkey), handshake_role::initiator, limit,
                       impl.max_frame_size());
}

} // namespace proctor::internal

// -- the public header's entry points -----------------------------------------

namespace proctor::internal {

std::shared_ptr<pipe_listener> open_pipe_listener(runtime& rt, const std::string& endpoint,
                                                  std::optional<std::string> authkey) {
  return std::make_shared<pipe_listener>(rt, endpoint, std::move(authkey));
}

std::shared_ptr<pipe_socket> accept_pipe(pipe_listener& l,
                                         std::optional<std::chrono::milliseconds> timeout) {
  return l.accept(timeout);
}

const std::string& pipe_listener_address(const pipe_listener& l) {
  return l.address();
}

void close_pipe_listener(pipe_listener& l) {
  l.close();
}

} // namespace proctor::internal
