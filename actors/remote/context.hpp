#pragma once

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/proxy_registry.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace proctor::internal {

/// What CAF's (de)serializers need to turn actor handles into ids and back:
/// the actor system (local handles go to its registry) and the proxy
/// registry (remote handles become proxies).
class serialization_context final : public caf::execution_unit {
public:
  serialization_context(caf::actor_system& sys, caf::proxy_registry& proxies)
    : caf::execution_unit(&sys) {
    proxy_registry_ptr(&proxies);
  }

  void exec_later(caf::resumable* job) override {
    system().scheduler().enqueue(job);
  }
};

} // namespace proctor::internal
