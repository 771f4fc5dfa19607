// Links between runtimes that did not start each other: one listens on an
// endpoint, the other connects; both then look up published actors by name.
#include "runtime/core/runtime_impl.hpp"

#include "runtime/core/errors.hpp"

#include <boost/asio/post.hpp>

#include "actors/errors.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

std::string runtime_impl::listen(const std::string& text) {
  endpoint ep;
  if (parse_endpoint(text, ep))
    throw error(errc::invalid_endpoint, "proctor: not an endpoint: \"" + text + "\"");
  std::error_code ec;
  std::string detail;
  auto server = listener::open(io_, ep, ec, detail);
  if (!server)
    throw error(static_cast<errc>(ec.value()), "proctor: " + detail);
  server->start([this](connection::socket_type socket) {
    make_peer_link(std::move(socket), {});
  });
  auto bound = server->local().to_string();
  log("runtime", log_level::info, "listening on ", bound);
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.push_back(std::move(server));
  return bound;
}

std::shared_ptr<link> runtime_impl::make_peer_link(connection::socket_type socket,
                                                   const std::string& endpoint_key) {
  auto channel = std::make_shared<link>(
    *router_,
    [this](link& from, frame_kind kind, std::span<const char> payload) {
      return on_control(from, kind, payload);
    },
    [this, endpoint_key](link& l, std::error_code reason, std::string detail) {
      log("runtime", log_level::info, "link to pid ", l.peer_pid(), " closed: ", reason.message(),
          detail.empty() ? "" : ": ", detail);
      link_closed(l, reason, detail);
      if (endpoint_key.empty())
        return;
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = peers_.find(endpoint_key); i != peers_.end() && i->second.get() == &l)
        peers_.erase(i);
    });
  auto role = endpoint_key.empty() ? handshake_role::acceptor : handshake_role::initiator;
  auto conn = connection::make(std::move(socket), link_settings(role), channel);
  channel->attach(conn);
  conn->start();
  return channel;
}

caf::strong_actor_ptr runtime_impl::remote_actor(const std::string& text,
                                                 const std::string& name,
                                                 std::chrono::milliseconds timeout) {
  endpoint ep;
  if (parse_endpoint(text, ep))
    throw error(errc::invalid_endpoint, "proctor: not an endpoint: \"" + text + "\"");
  auto key = ep.to_string();
  std::shared_ptr<link> channel;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = peers_.find(key); i != peers_.end())
      channel = i->second;
  }
  if (!channel) {
    connection::socket_type socket{io_};
    std::string detail;
    if (auto ec = connect_to(io_, ep, timeout, socket, detail))
      throw error(static_cast<errc>(ec.value()), "proctor: " + detail);
    channel = make_peer_link(std::move(socket), key);
    std::lock_guard<std::mutex> guard{mtx_};
    peers_[key] = channel;
  }
  auto reply = requests_.call(*channel, lookup_request{name}, timeout);
  auto code = reply ? errc::ok : parts_of(reply.error(), *system_).code;
  if (code != errc::ok && code < errc::unregistered_task) {
    // The link failed (a refused handshake, most likely): forget it.
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = peers_.find(key); i != peers_.end() && i->second == channel)
      peers_.erase(i);
  }
  if (code == errc::duplicate_node) {
    // The endpoint belongs to a node this process is linked to already (a
    // child of ours that listens, say): both ends refused a second link, and
    // the lookup goes through the first.
    if (auto existing = router_->link_to(channel->peer()))
      reply = requests_.call(*existing, lookup_request{name}, timeout);
  }
  if (!reply) {
    auto [failed, detail] = parts_of(reply.error(), *system_);
    throw_error(failed, "proctor: " + key + ": " + (detail.empty() ? to_string(failed) : detail));
  }
  return router_->proxy_for(reply->node, reply->id);
}

} // namespace proctor::internal
