#pragma once

#include <caf/atom.hpp>

namespace proctor::internal {

// What a pool says to its workers and they answer. Every task carries its
// id, so a result that arrives twice (a task that ran twice) is recognized.
//
// pool -> worker:
//   (pl_init, string task, string args)           run the initializer first
//   (pl_run, uint64 id, string task, uint32 count, string args)
//   (pl_stop)                                     finish what you have, then end
// worker -> pool:
//   (pl_ready)                                    the initializer returned
//   (pl_result, uint64 id, vector<char> results, uint32 run_us)
//                                                 `count` results, encoded, and
//                                                 how long the call ran
//   (pl_failed, uint64 id, uint8 errc, string type, string what)
//                                                 id 0: the initializer failed
using pool_init_atom = caf::atom_constant<caf::atom("pl_init")>;
using pool_run_atom = caf::atom_constant<caf::atom("pl_run")>;
using pool_stop_atom = caf::atom_constant<caf::atom("pl_stop")>;
using pool_ready_atom = caf::atom_constant<caf::atom("pl_ready")>;
using pool_result_atom = caf::atom_constant<caf::atom("pl_result")>;
using pool_failed_atom = caf::atom_constant<caf::atom("pl_failed")>;

/// The name under which workers of every binary host the pool's task actor.
inline constexpr const char* pool_worker_actor = "proctor.pool_worker";

/// Registers the pool worker actor (once; before the binary's fingerprint
/// is taken, so that master and workers agree on it).
void register_pool_worker();

} // namespace proctor::internal
