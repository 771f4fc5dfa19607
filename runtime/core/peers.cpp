// Links between runtimes that did not start each other: one listens on an
// endpoint, the other connects; both then look up published actors by name,
// or open the objects a manager serves.
#include "runtime/core/runtime_impl.hpp"

#include "runtime/core/errors.hpp"

#include <boost/asio/post.hpp>

#include "actors/errors.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

endpoint parsed(const std::string& text) {
  endpoint ep;
  if (parse_endpoint(text, ep))
    throw error(errc::invalid_endpoint, "proctor: not an endpoint: \"" + text + "\"");
  return ep;
}

} // namespace

std::string runtime_impl::listen(const std::string& text) {
  return listen_peers(text, keys_, nullptr)->local().to_string();
}

std::shared_ptr<listener> runtime_impl::listen_peers(const std::string& text,
                                                     const handshake_keys& keys,
                                                     std::shared_ptr<object_directory> directory) {
  auto ep = parsed(text);
  std::error_code ec;
  std::string detail;
  auto server = listener::open(io_, ep, ec, detail);
  if (!server)
    throw error(static_cast<errc>(ec.value()), "proctor: " + detail);
  // Weak: the manager owns its listener, which must not own it back.
  std::weak_ptr<object_directory> served = directory;
  server->start([this, ep, keys, served](connection::socket_type socket) {
    make_peer_link(std::move(socket), ep, {}, keys, served.lock());
  });
  log("runtime", log_level::info, "listening on ", server->local().to_string());
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.push_back(server);
  if (directory)
    managers_.push_back(directory);
  return server;
}

std::shared_ptr<link> runtime_impl::make_peer_link(connection::socket_type socket,
                                                   const endpoint& ep,
                                                   const std::string& endpoint_key,
                                                   const handshake_keys& keys,
                                                   std::shared_ptr<object_directory> directory) {
  auto channel = std::make_shared<link>(
    *router_,
    [this](link& from, frame_kind kind, std::span<const char> payload) {
      return on_control(from, kind, payload);
    },
    [this, endpoint_key](link& l, std::error_code reason, std::string detail) {
      log("runtime", log_level::info, "link to pid ", l.peer_pid(), " closed: ", reason.message(),
          detail.empty() ? "" : ": ", detail);
      link_closed(l, reason, detail);
      std::lock_guard<std::mutex> guard{mtx_};
      directories_.erase(&l);
      if (endpoint_key.empty())
        return;
      if (auto i = peers_.find(endpoint_key); i != peers_.end() && i->second.get() == &l)
        peers_.erase(i);
    });
  if (directory) {
    // A link accepted while the manager shut down is refused (one accepted
    // before is in directories_, which shutdown closes).
    std::lock_guard<std::mutex> guard{mtx_};
    if (directory->shut_down()) {
      boost::system::error_code ignored;
      socket.close(ignored);
      return nullptr;
    }
    directories_[channel.get()] = {channel, std::move(directory)};
  }
  auto role = endpoint_key.empty() ? handshake_role::acceptor : handshake_role::initiator;
  auto conn = connection::make(std::move(socket), peer_settings(ep, role, keys), channel);
  channel->attach(conn);
  conn->start();
  return channel;
}

std::shared_ptr<link> runtime_impl::connect_peer(const std::string& text,
                                                 const handshake_keys& keys,
                                                 std::chrono::milliseconds timeout) {
  auto ep = parsed(text);
  auto key = ep.to_string();
  {
    // A link that went down may wait for its closed hook to forget it.
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = peers_.find(key); i != peers_.end()) {
      if (!i->second->closed_reason().first)
        return i->second;
      peers_.erase(i);
    }
  }
  connection::socket_type socket{io_};
  std::string detail;
  if (auto ec = connect_to(io_, ep, timeout, socket, detail))
    throw error(static_cast<errc>(ec.value()), "proctor: " + detail);
  auto channel = make_peer_link(std::move(socket), ep, key, keys, nullptr);
  std::lock_guard<std::mutex> guard{mtx_};
  // Another thread may have connected meanwhile; the first link stays.
  auto [i, added] = peers_.emplace(key, channel);
  if (!added)
    channel->close(errc::connection_closed, "a link to this endpoint exists already");
  return i->second;
}

std::shared_ptr<link> runtime_impl::after_failed_ask(const std::string& text,
                                                     const std::shared_ptr<link>& channel,
                                                     const caf::error& failure) {
  auto code = parts_of(failure, *system_).code;
  if (code < errc::unregistered_task) {
    // The link failed (a refused handshake, most likely): forget it.
    auto key = parsed(text).to_string();
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = peers_.find(key); i != peers_.end() && i->second == channel)
      peers_.erase(i);
  }
  // The endpoint belongs to a node this process is linked to already (a
  // child of ours that listens, say): both ends refused a second link, and
  // the request goes through the first.
  if (code == errc::duplicate_node)
    return router_->link_to(channel->peer());
  return nullptr;
}

void runtime_impl::throw_failed_ask(const std::string& text, const caf::error& failure) {
  auto [code, detail] = parts_of(failure, *system_);
  auto key = parsed(text).to_string();
  throw_error(code, "proctor: " + key + ": " + (detail.empty() ? to_string(code) : detail));
}

std::shared_ptr<object_directory> runtime_impl::directory_of(const link& l,
                                                             const std::string& endpoint) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = directories_.find(&l); i != directories_.end())
    return i->second.directory;
  std::erase_if(managers_, [](auto& m) { return m.expired(); });
  for (auto& weak : managers_)
    if (auto m = weak.lock(); m && m->address() == endpoint)
      return m;
  return nullptr;
}

void runtime_impl::close_links_of(const object_directory& directory, errc reason,
                                  const std::string& detail) {
  std::vector<std::shared_ptr<link>> links;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [key, served] : directories_)
      if (served.directory.get() == &directory)
        if (auto l = served.channel.lock())
          links.push_back(std::move(l));
  }
  for (auto& l : links)
    l->close(reason, detail);
}

caf::strong_actor_ptr runtime_impl::remote_actor(const std::string& text,
                                                 const std::string& name,
                                                 std::chrono::milliseconds timeout) {
  auto [channel, reply] = ask_peer(text, keys_, lookup_request{name}, timeout);
  return router_->proxy_for(reply.node, reply.id);
}

} // namespace proctor::internal
