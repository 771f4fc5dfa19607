#pragma once

#include "runtime/core/actor_client.hpp"

namespace proctor::internal {

inline constexpr char lock_name[] = "lock";

/// A thread's session with a lock, semaphore, event, condition or barrier
/// actor: blocking requests, one at a time.
using sync_session = named_session<lock_name>;

class sync_client : public per_thread<sync_session> {
public:
  using per_thread::per_thread;
};

} // namespace proctor::internal
