#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace proctor::internal {

// A condition variable's waiters. A waiter enters (and is counted by
// notify) before it releases the lock, then awaits: a notify between the
// two is not lost, as with Python's sleeping count.
using enter_atom = caf::atom_constant<caf::atom("c_enter")>;   // -> uint64 waiter
using await_atom = caf::atom_constant<caf::atom("c_await")>;   // uint64 waiter, int64 timeout_ms -> bool notified
using notify_atom = caf::atom_constant<caf::atom("c_notify")>; // int64 n (-1: all) -> uint64 woken
using leave_atom = caf::atom_constant<caf::atom("c_leave")>;   // uint64 waiter (gave up before awaiting)

/// Spawns a condition's waiter list in this process.
caf::actor spawn_condition(caf::actor_system& sys);

// A barrier. A party arrives with its timeout; when the last one arrives,
// it is told to run the action (if any) and report, then everyone goes. A
// broken barrier answers with a caf::error in proctor's category,
// broken_barrier.
using arrive_atom = caf::atom_constant<caf::atom("b_arrive")>; // int64 timeout_ms -> int64 index, bool run_action
using action_done_atom = caf::atom_constant<caf::atom("b_actdone")>; // bool ok -> ()
using reset_atom = caf::atom_constant<caf::atom("b_reset")>;   // -> ()
using abort_atom = caf::atom_constant<caf::atom("b_abort")>;   // -> ()
using state_atom = caf::atom_constant<caf::atom("b_state")>;   // -> int64 waiting, bool broken

/// Spawns a barrier for `parties` in this process; `has_action` says whether
/// the last party runs an action before the others go.
caf::actor spawn_barrier(caf::actor_system& sys, std::int64_t parties, bool has_action);

} // namespace proctor::internal
