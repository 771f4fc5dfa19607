#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>

namespace proctor {

namespace internal {
void register_handle(const std::string& name, caf::strong_actor_ptr actor);
caf::strong_actor_ptr whereis_handle(const std::string& name);
} // namespace internal

/// Erlang's registry: names for actors, seen by every process of the
/// master's cluster (the master, its workers, its nodes and their workers)
/// and looked up by linked peers through `runtime::remote_actor`. The
/// master holds the table; elsewhere each call asks it over the link, so it
/// blocks for a round trip (do not call it where blocking hurts).
///
/// A name is dropped when its actor ends. A child that a supervisor
/// registers under its spec's name stays bound across restarts: the name
/// follows the current incarnation.

/// Binds `name` to `actor`. Throws proctor::error: name_taken (bound to
/// another actor; of two concurrent registrations of one name exactly one
/// succeeds), bad_argument (an empty name or handle), invalid_state (no
/// runtime), or the reason the master could not be asked.
template <class Handle>
void register_name(const std::string& name, const Handle& actor) {
  internal::register_handle(name, caf::actor_cast<caf::strong_actor_ptr>(actor));
}

/// The actor bound to `name`, or an empty handle (`!handle`) if none.
template <class Handle = caf::actor>
Handle whereis(const std::string& name) {
  return caf::actor_cast<Handle>(internal::whereis_handle(name));
}

/// Drops the binding of `name`. Throws proctor::error(not_registered).
void unregister(const std::string& name);

/// An actor that passes each message on to the actor bound to `name` when
/// the message arrives (with its sender, so replies go back to the sender),
/// the way Erlang's `Name ! Msg` does: sends through it reach a supervised
/// child's current incarnation. A request through it while nothing is
/// bound fails with not_registered; a plain message is then dropped.
caf::actor named(const std::string& name);

} // namespace proctor
