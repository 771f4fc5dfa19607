#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/node_id.hpp>
#include <caf/proxy_registry.hpp>

#include "actors/remote/context.hpp"
#include "transport/frame.hpp"

namespace proctor::internal {

class link;

/// While it lives, handles that this thread decodes and that name nodes
/// without a route of their own are reached through `l` (the link the bytes
/// came on).
class decoding_from {
public:
  explicit decoding_from(link* l);
  ~decoding_from();
  decoding_from(const decoding_from&) = delete;
  decoding_from& operator=(const decoding_from&) = delete;

private:
  link* previous_;
};

/// Whether `encoded` is what CAF 0.17 writes for an empty message (which it
/// also yields, without an error, for one whose element does not decode).
bool encodes_empty_message(std::span<const char> encoded);

/// Makes remote actors addressable: owns the proxy registry, knows which link
/// leads to which node, and delivers actor frames. Frames for another node
/// are forwarded unchanged, so a worker reaches its siblings through the
/// master.
class router final : public caf::proxy_registry::backend {
public:
  explicit router(caf::actor_system& sys);

  ~router() override;

  caf::actor_system& system() noexcept {
    return sys_;
  }

  caf::proxy_registry& proxies() noexcept {
    return proxies_;
  }

  serialization_context& context() noexcept {
    return ctx_;
  }

  /// This node's id as the handshake carries it.
  std::vector<char> node_blob() const;

  /// Decodes a peer's node id from its handshake.
  static bool decode_node(std::span<const char> blob, caf::node_id& out);

  /// A link finished its handshake: its peer is reachable through it. A peer
  /// claiming this node's id, or that of a node live on another link, is
  /// refused (duplicate_node): a link never takes over another's route.
  std::error_code link_up(const std::shared_ptr<link>& l, std::string& detail);

  /// A link is gone: every actor reached through it is down with `reason`,
  /// and every request waiting on it fails with `reason`.
  void link_down(link& l, const caf::error& reason);

  /// Frames for `node` go through `via` (a node's worker, behind the node).
  void add_route(const caf::node_id& node, std::shared_ptr<link> via);

  /// The established link whose peer is `node`, if any.
  std::shared_ptr<link> link_to(const caf::node_id& node);

  /// Every established link.
  std::vector<std::shared_ptr<link>> links();

  /// Frames for `node` go through `via`, unless a route to it is known.
  void learn_route(const caf::node_id& node, std::shared_ptr<link> via);

  /// Where frames for nodes without a known route go (a worker's parent).
  void set_default_route(std::shared_ptr<link> l);

  /// The default route, if any: a worker's link to its parent.
  std::shared_ptr<link> default_route();

  /// Handles an actor frame (message, monitor, down, node_down).
  std::error_code handle(link& from, frame_kind kind, std::span<const char> payload);

  /// A proxy for `aid` on `node`, routed and monitored.
  caf::strong_actor_ptr proxy_for(const caf::node_id& node, caf::actor_id aid);

  // -- proxy_registry::backend --------------------------------------------------

  caf::strong_actor_ptr make_proxy(caf::node_id node, caf::actor_id aid) override;

  void set_last_hop(caf::node_id* ptr) override;

private:
  std::shared_ptr<link> route_to(const caf::node_id& node);
  std::error_code forward(const caf::node_id& dest, frame_kind kind,
                          std::span<const char> payload);
  std::error_code handle_message(link& from, std::span<const char> payload);
  std::error_code handle_monitor(link& from, std::span<const char> payload);
  std::error_code handle_down(std::span<const char> payload);
  std::error_code handle_node_down(link& from, std::span<const char> payload);
  void node_lost(const caf::node_id& node, const caf::error& reason, link* via);

  caf::actor_system& sys_;
  caf::proxy_registry proxies_;
  serialization_context ctx_;
  std::mutex mtx_;
  std::unordered_map<caf::node_id, std::shared_ptr<link>> routes_;
  std::vector<std::shared_ptr<link>> links_;
  std::shared_ptr<link> default_route_;
};

} // namespace proctor::internal
