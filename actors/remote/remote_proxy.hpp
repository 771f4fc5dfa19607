#pragma once

#include <memory>

#include <caf/actor_proxy.hpp>

namespace proctor::internal {

class link;
class router;

/// A local stand-in for an actor in another process. `enqueue` serializes the
/// message straight into the link's outgoing queue: no broker actor, no extra
/// scheduler hop.
class remote_proxy final : public caf::actor_proxy {
public:
  remote_proxy(caf::actor_config& cfg, router& owner, std::shared_ptr<link> route);

  ~remote_proxy() override;

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override;

  void kill_proxy(caf::execution_unit* host, caf::error reason) override;

private:
  router& owner_;
  std::shared_ptr<link> route_;
};

} // namespace proctor::internal
