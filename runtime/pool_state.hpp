#pragma once

// The pool supervisor's state, shared by its files: pool_supervisor.cpp
// (tasks: dispatch, results, the actor's behavior) and pool_supervision.cpp
// (worker processes: start, retire, death, restart intensity).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/restart_intensity.hpp"
#include "runtime/pool_core.hpp"

namespace proctor::internal {

struct child_process;

using worker_up_atom = caf::atom_constant<caf::atom("pl_up")>;
using start_failed_atom = caf::atom_constant<caf::atom("pl_nostart")>;
using task_timeout_atom = caf::atom_constant<caf::atom("pl_tmo")>;

/// Tasks a worker holds at once. At least two: one running, one ready to
/// go, so that a worker never idles for a round trip. Tiny tasks get more,
/// about `window_span` worth of running time, so that the pool is not bound
/// by round trips; a slow task then strands none but tiny ones behind it.
constexpr std::size_t min_window = 2;
constexpr std::size_t max_window = 64;
constexpr double window_span_us = 500;

struct pool_task {
  chunk work;
  std::shared_ptr<result_state> result;
  std::size_t part = 0;
  std::size_t attempts = 0;   ///< deaths of its worker that were surely its doing
  std::uint64_t runs = 0;     ///< times it reached the front of a worker (timer token)
  /// Was among several unanswered tasks of a worker that died: it runs alone
  /// from now on, so that a death can be pinned on it or cleared.
  bool suspect = false;
  std::uint64_t worker = 0;   ///< the slot holding it, 0 while pending
  bool timed_out = false;     ///< its worker was killed for running too long
};

enum class phase { starting, initializing, ready, stopping };

struct worker_slot {
  phase state = phase::starting;
  caf::actor handle;
  std::shared_ptr<child_process> child;
  std::deque<std::uint64_t> in_flight; ///< in dispatch order: the front runs
  std::size_t assigned = 0;
  std::optional<std::string> init_failure;
};

struct supervisor_state {
  runtime_impl* rt = nullptr;
  pool_options options;
  std::shared_ptr<pool_status> status;
  restart_intensity intensity{0, {}};

  std::map<std::uint64_t, pool_task> tasks; ///< every unfinished task
  std::deque<std::uint64_t> pending;
  std::map<std::uint64_t, worker_slot> workers;
  std::map<caf::actor_addr, std::uint64_t> slot_of;
  std::uint64_t next_task = 1;
  std::uint64_t next_slot = 1;
  bool closed = false;
  bool terminated = false;
  std::optional<std::string> broken;
  std::vector<caf::response_promise> joiners;
  pool_stats stats;
  double task_us = -1; ///< moving average of a task's running time; -1: none yet

  static inline const char* name = "proctor.pool";
};

using supervisor = caf::stateful_actor<supervisor_state>;

// -- tasks (pool_supervisor.cpp) ------------------------------------------------

void dispatch(supervisor* self);
void settle(supervisor* self);
void fail_task(supervisor* self, std::uint64_t id, task_failure why);
void fail_all(supervisor* self, errc code, const std::string& text);
void publish_status(supervisor* self);

// -- workers (pool_supervision.cpp) ----------------------------------------------

void start_slot(supervisor* self);
void kill_workers(supervisor* self);
void retire_if_spent(supervisor* self, std::uint64_t slot);
void break_pool(supervisor* self, std::string why);
void on_worker_down(supervisor* self, const caf::down_msg& msg);

} // namespace proctor::internal
