#include <algorithm>
#include "actors/remote/router.hpp"
#include "actors/wire/segments.hpp"

#include <caf/actor_config.hpp>
#include <caf/actor_registry.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

#include "actors/errors.hpp"
#include "actors/remote/link.hpp"
#include "actors/remote/remote_proxy.hpp"
#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/errc.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

// The link whose frame this thread is decoding: handles to nodes without a
// route of their own are reached back through it.
thread_local link* current_hop = nullptr;

using hop_scope = decoding_from;

template <class... Ts>
std::vector<char> encode(serialization_context& ctx, Ts&... xs) {
  std::vector<char> buf;
  caf::binary_serializer sink{&ctx, buf};
  if (auto err = sink(xs...))
    log("actors", log_level::error, "cannot encode a control frame: ", ctx.system().render(err));
  return buf;
}

} // namespace

decoding_from::decoding_from(link* l) : previous_(current_hop) {
  current_hop = l;
}

decoding_from::~decoding_from() {
  current_hop = previous_;
}

router::router(caf::actor_system& sys)
  : sys_(sys), proxies_(sys, *this), ctx_(sys, proxies_) {
}

router::~router() {
  proxies_.clear();
}

std::vector<char> router::node_blob() const {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto node = sys_.node();
  if (auto err = inspect(sink, node))
    log("actors", log_level::error, "cannot encode this node's id");
  return buf;
}

bool router::decode_node(std::span<const char> blob, caf::node_id& out) {
  bounded_deserializer source{nullptr, blob.data(), blob.size()};
  return !inspect(source, out) && source.remaining() == 0;
}

std::error_code router::link_up(const std::shared_ptr<link>& l, std::string& detail) {
  auto node = l->peer();
  if (node == sys_.node()) {
    detail = "the peer presents this process's own node id";
    return errc::duplicate_node;
  }
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& other : links_)
    if (other->peer() == node) {
      detail = "node " + to_string(node) + " is live on another link (pid "
               + std::to_string(other->peer_pid()) + ")";
      return errc::duplicate_node;
    }
  // A route learned through a hop stays: no peer overwrites a route.
  routes_.emplace(node, l);
  links_.push_back(l);
  return {};
}

void router::set_default_route(std::shared_ptr<link> l) {
  std::lock_guard<std::mutex> guard{mtx_};
  default_route_ = std::move(l);
}

void router::learn_route(const caf::node_id& node, std::shared_ptr<link> via) {
  std::lock_guard<std::mutex> guard{mtx_};
  routes_.try_emplace(node, std::move(via));
}

std::shared_ptr<link> router::default_route() {
  std::lock_guard<std::mutex> guard{mtx_};
  return default_route_;
}

std::shared_ptr<link> router::route_to(const caf::node_id& node) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = routes_.find(node); i != routes_.end())
    return i->second;
  if (current_hop != nullptr) {
    auto hop = current_hop->shared_from_this();
    routes_.emplace(node, hop);
    return hop;
  }
  return default_route_;
}

void router::link_down(link& l, const caf::error& reason) {
  std::vector<caf::node_id> lost;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = routes_.begin(); i != routes_.end();) {
      if (i->second.get() == &l) {
        lost.push_back(i->first);
        i = routes_.erase(i);
      } else {
        ++i;
      }
    }
    std::erase_if(links_, [&](auto& x) { return x.get() == &l; });
    if (default_route_.get() == &l)
      default_route_.reset();
  }
  l.fail_requests(caf::node_id{}, reason);
  for (auto& node : lost)
    node_lost(node, reason, &l);
}

void router::add_route(const caf::node_id& node, std::shared_ptr<link> via) {
  std::lock_guard<std::mutex> guard{mtx_};
  routes_[node] = std::move(via);
}

std::shared_ptr<link> router::link_to(const caf::node_id& node) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& l : links_)
    if (l->peer() == node)
      return l;
  return nullptr;
}

std::vector<std::shared_ptr<link>> router::links() {
  std::lock_guard<std::mutex> guard{mtx_};
  return links_;
}

void router::node_lost(const caf::node_id& node, const caf::error& reason, link* via) {
  for (auto& proxy : proxies_.get_all(node))
    proxies_.erase(node, proxy->id(), reason);
  std::vector<std::shared_ptr<link>> others;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    others = links_;
  }
  auto lost = node;
  auto why = reason;
  auto payload = encode(ctx_, lost, why);
  for (auto& other : others) {
    if (other.get() == via)
      continue;
    other->fail_requests(node, reason);
    other->send(frame_kind::node_down, payload);
  }
}

caf::strong_actor_ptr router::proxy_for(const caf::node_id& node, caf::actor_id aid) {
  return proxies_.get_or_put(node, aid);
}

caf::strong_actor_ptr router::make_proxy(caf::node_id node, caf::actor_id aid) {
  auto hop = route_to(node);
  caf::actor_config cfg;
  auto proxy = caf::make_actor<remote_proxy, caf::strong_actor_ptr>(aid, node, &sys_, cfg,
                                                                    *this, hop);
  // The other side reports the actor's end with a `down` frame.
  auto self_node = sys_.node();
  auto payload = encode(ctx_, node, aid, self_node);
  if (!hop || hop->send(frame_kind::monitor, payload)) {
    auto* raw = static_cast<remote_proxy*>(caf::actor_cast<caf::abstract_actor*>(proxy));
    raw->kill_proxy(nullptr, make_caf_error(errc::connection_closed,
                                            "no route to the actor's node"));
  }
  return proxy;
}

void router::set_last_hop(caf::node_id*) {
  // Routes are learned from current_hop instead.
}

std::error_code router::forward(const caf::node_id& dest, frame_kind kind,
                                std::span<const char> payload) {
  std::shared_ptr<link> hop;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = routes_.find(dest); i != routes_.end())
      hop = i->second;
    else
      hop = default_route_;
  }
  if (!hop || hop->send(kind, payload))
    log("actors", log_level::info, "dropped a frame for unreachable node ", to_string(dest));
  return {};
}

std::error_code router::handle(link& from, frame_kind kind,
                               std::span<const char> payload) {
  hop_scope scope{&from};
  switch (kind) {
    case frame_kind::message:
      return handle_message(from, payload);
    case frame_kind::monitor:
      return handle_monitor(from, payload);
    case frame_kind::down:
      return handle_down(payload);
    case frame_kind::node_down:
      return handle_node_down(from, payload);
    default:
      return errc::unknown_frame_kind;
  }
}

bool encodes_empty_message(std::span<const char> encoded) {
  // What CAF 0.17 writes for an empty message: type number 0, then its
  // type name "@<>" as a string.
  static constexpr char empty[] = {0, 0, 3, '@', '<', '>'};
  return encoded.size() == sizeof empty && std::equal(encoded.begin(), encoded.end(), empty);
}

std::error_code router::handle_message(link& from, std::span<const char> payload) {
  bounded_deserializer source{&ctx_, payload.data(), payload.size()};
  caf::node_id dest;
  if (inspect(source, dest))
    return errc::malformed_payload;
  if (dest != sys_.node()) {
    // A sender shares memory only with its direct peer (link.hpp).
    if (source_scope::current() != nullptr) {
      log("actors", log_level::warning, "pid ", from.peer_pid(),
          " sent descriptors with a message for another node");
      return errc::protocol_violation;
    }
    return forward(dest, frame_kind::message, payload);
  }
  caf::actor_id aid = 0;
  caf::strong_actor_ptr sender;
  caf::message_id mid;
  std::vector<caf::strong_actor_ptr> stages;
  caf::message content;
  auto err = source(aid, sender, mid, stages);
  auto content_at = payload.size() - source.remaining();
  if (!err)
    err = source(content);
  // CAF 0.17 drops the error of an element that does not decode (shared
  // memory refused, a value out of range) and yields an empty message: one
  // that was not sent empty is malformed.
  if (!err && content.empty() && !encodes_empty_message(payload.subspan(content_at)))
    err = make_caf_error(errc::malformed_payload, "an element of the message does not decode");
  if (err || source.remaining() != 0) {
    log("actors", log_level::warning, "malformed message frame from pid ", from.peer_pid(),
        err ? ": " + sys_.render(err) : std::string{": trailing bytes"});
    return errc::malformed_payload;
  }
  if (mid.is_response())
    from.untrack_request(aid, mid.request_id());
  auto receiver = sys_.registry().get(aid);
  if (!receiver) {
    if (mid.is_request() && sender)
      sender->enqueue(caf::make_mailbox_element(
                        nullptr, mid.response_id(), {},
                        caf::make_message(caf::make_error(caf::sec::request_receiver_down))),
                      nullptr);
    return {};
  }
  receiver->enqueue(caf::make_mailbox_element(std::move(sender), mid, std::move(stages),
                                              std::move(content)),
                    nullptr);
  return {};
}

std::error_code router::handle_monitor(link& from, std::span<const char> payload) {
  bounded_deserializer source{&ctx_, payload.data(), payload.size()};
  caf::node_id dest;
  caf::actor_id aid = 0;
  caf::node_id requester;
  if (source(dest, aid, requester) || source.remaining() != 0)
    return errc::malformed_payload;
  if (dest != sys_.node())
    return forward(dest, frame_kind::monitor, payload);
  auto send_down = [weak = from.weak_from_this(), &ctx = ctx_, requester, aid,
                    self_node = sys_.node()](const caf::error& reason) mutable {
    auto l = weak.lock();
    if (!l)
      return;
    auto why = reason;
    auto id = aid;
    auto payload = encode(ctx, requester, self_node, id, why);
    l->send(frame_kind::down, payload);
  };
  auto target = sys_.registry().get(aid);
  if (!target) {
    send_down(caf::exit_reason::unknown);
    return {};
  }
  caf::actor_cast<caf::abstract_actor*>(target)->attach_functor(std::move(send_down));
  return {};
}

std::error_code router::handle_down(std::span<const char> payload) {
  bounded_deserializer source{&ctx_, payload.data(), payload.size()};
  caf::node_id dest;
  caf::node_id node;
  caf::actor_id aid = 0;
  caf::error reason;
  if (source(dest, node, aid, reason) || source.remaining() != 0)
    return errc::malformed_payload;
  if (dest != sys_.node())
    return forward(dest, frame_kind::down, payload);
  proxies_.erase(node, aid, reason);
  return {};
}

std::error_code router::handle_node_down(link& from, std::span<const char> payload) {
  bounded_deserializer source{&ctx_, payload.data(), payload.size()};
  caf::node_id node;
  caf::error reason;
  if (source(node, reason) || source.remaining() != 0)
    return errc::malformed_payload;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = routes_.find(node);
    if (i == routes_.end() || i->second.get() != &from)
      return {};
    routes_.erase(i);
  }
  from.fail_requests(node, reason);
  node_lost(node, reason, &from);
  return {};
}

} // namespace proctor::internal
