#pragma once

#include "runtime/core/actor_client.hpp"

namespace proctor::internal {

/// A thread's session with a lock, semaphore, event, condition or barrier
/// actor: blocking requests, one at a time.
class sync_session : public actor_client {
public:
  sync_session(caf::actor_system& sys, caf::actor target,
               std::shared_ptr<channel_failure> failure)
    : actor_client(sys, std::move(target), "lock", std::move(failure)) {
  }
};

class sync_client : public per_thread<sync_session> {
public:
  using per_thread::per_thread;
};

} // namespace proctor::internal
