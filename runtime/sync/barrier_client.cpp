// A process's side of a barrier: arrivals are requests to its actor; the
// last party runs the action here, then tells the actor to let all go.
#include "proctor/barrier.hpp"

#include <exception>

#include "actors/sync/condition_actor.hpp"
#include "proctor/runtime.hpp"
#include "runtime/sync/sync_client.hpp"

namespace proctor {

namespace {

std::int64_t checked_parties(std::size_t parties) {
  if (parties == 0)
    throw error(errc::bad_argument, "proctor: a barrier needs at least one party");
  return static_cast<std::int64_t>(parties);
}

} // namespace

process_barrier::process_barrier(runtime& rt, std::size_t parties,
                                 std::optional<task_call> action,
                                 std::optional<std::chrono::milliseconds> timeout)
  : sync_base(rt, internal::spawn_barrier(rt.system(), checked_parties(parties),
                                          action.has_value())),
    parties_(static_cast<std::int64_t>(parties)),
    timeout_ms_(timeout ? std::max<std::int64_t>(timeout->count(), 0) : -1) {
  if (action) {
    action_name_ = action->bound.entry->name;
    action_args_ = std::move(action->bound.args);
  }
}

std::size_t process_barrier::wait(std::optional<std::chrono::milliseconds> timeout) {
  auto& c = client().mine();
  auto wire = timeout ? std::max<std::int64_t>(timeout->count(), 0) : timeout_ms_;
  std::int64_t index = 0;
  bool run_action = false;
  {
    std::lock_guard<std::mutex> guard{c.mtx};
    std::tie(index, run_action) = c.ask2<std::int64_t, bool>(internal::arrive_atom::value, wire);
  }
  if (!run_action)
    return static_cast<std::size_t>(index);
  // The last party: the action runs here before anyone goes.
  std::exception_ptr failure;
  try {
    auto* entry = internal::find_task(action_name_);
    if (entry == nullptr)
      throw error(errc::unregistered_task,
                  "proctor: the barrier's action " + action_name_ + " is not registered");
    entry->run(action_args_);
  } catch (...) {
    failure = std::current_exception();
  }
  std::lock_guard<std::mutex> guard{c.mtx};
  try {
    c.ask_done(internal::action_done_atom::value, !failure);
  } catch (const broken_barrier&) {
    if (!failure)
      throw; // reset or aborted while the action ran
  }
  if (failure)
    std::rethrow_exception(failure);
  return static_cast<std::size_t>(index);
}

void process_barrier::reset() {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(internal::reset_atom::value);
}

void process_barrier::abort() {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(internal::abort_atom::value);
}

std::size_t process_barrier::n_waiting() const {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  auto [waiting, is_broken] = c.ask2<std::int64_t, bool>(internal::state_atom::value);
  return static_cast<std::size_t>(waiting);
}

bool process_barrier::broken() const {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  auto [waiting, is_broken] = c.ask2<std::int64_t, bool>(internal::state_atom::value);
  return is_broken;
}

} // namespace proctor
