#pragma once

#include <cstdint>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace proctor::internal {

// Messages of the synchronization actors. A holder is identified by the
// sending actor (one per process and handle) plus a thread token. A request
// that fails is answered with a caf::error in proctor's category: timeout
// (an acquire that ran out of time), invalid_state (a release not held).
using acquire_atom = caf::atom_constant<caf::atom("s_acq")>;  // int64 timeout_ms, uint64 thread -> bool holder_died
using release_atom = caf::atom_constant<caf::atom("s_rel")>;  // uint64 thread -> ()
using value_atom = caf::atom_constant<caf::atom("s_value")>;  // -> int64 value
using set_atom = caf::atom_constant<caf::atom("e_set")>;      // -> ()
using clear_atom = caf::atom_constant<caf::atom("e_clear")>;  // -> ()
using is_set_atom = caf::atom_constant<caf::atom("e_isset")>; // -> bool
using wait_atom = caf::atom_constant<caf::atom("e_wait")>;    // int64 timeout_ms -> bool
using expire_wait_atom = caf::atom_constant<caf::atom("s_expire")>; // uint64 waiter (internal)

/// The kinds of counting lock one actor implements.
enum class sync_kind : std::uint8_t {
  lock,              ///< 1 permit; any holder may release (Python's Lock)
  rlock,             ///< 1 permit, re-entrant; only the owner releases
  semaphore,         ///< n permits
  bounded_semaphore, ///< n permits; releasing above n is an error
};

/// Spawns a lock or semaphore with `permits` in this process.
caf::actor spawn_sync(caf::actor_system& sys, sync_kind kind, std::int64_t permits);

/// Spawns an event (initially clear) in this process.
caf::actor spawn_event(caf::actor_system& sys);

} // namespace proctor::internal
