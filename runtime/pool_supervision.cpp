// The pool's worker processes, one_for_one: started off the supervisor's
// thread, replaced when spent (max_tasks_per_child) or dead, within the
// restart intensity; a dead worker's tasks go back to the queue.
#include "runtime/pool_state.hpp"

#include <csignal>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/blocking_actor.hpp>

#include "runtime/pool_protocol.hpp"
#include "runtime/runtime_impl.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<proctor::internal::child_process>)

namespace proctor::internal {

namespace {

void start_worker(caf::blocking_actor* self, runtime_impl* rt, caf::actor pool,
                  std::uint64_t slot) {
  std::shared_ptr<child_process> child;
  try {
    // Daemons: the runtime's end terminates them instead of waiting.
    child = rt->start_child(true);
    auto handle = caf::actor_cast<caf::actor>(rt->spawn_in(*child, pool_worker_actor));
    self->send(pool, worker_up_atom::value, slot, std::move(handle), std::move(child));
  } catch (const std::exception& e) {
    if (child)
      child->signal(SIGKILL); // started, but no use without its actor
    self->send(pool, start_failed_atom::value, slot, std::string{e.what()});
  }
}

} // namespace

void start_slot(supervisor* self) {
  auto& st = self->state;
  auto slot = st.next_slot++;
  st.workers[slot];
  self->spawn<caf::detached>(start_worker, st.rt, caf::actor_cast<caf::actor>(self), slot);
}

namespace {

std::string describe_end(const caf::error& reason, const worker_slot& w) {
  if (w.init_failure)
    return "its initializer failed: " + *w.init_failure;
  auto pid = w.child ? std::to_string(w.child->pid) : std::string{"?"};
  if (auto code = exitcode_of(reason)) {
    exit_status status{*code < 0, *code < 0 ? -*code : *code};
    return "worker pid " + pid + " " + status.to_string();
  }
  return "worker pid " + pid + " is gone";
}

} // namespace

void kill_workers(supervisor* self) {
  for (auto& [id, w] : self->state.workers)
    if (w.child)
      w.child->signal(SIGKILL);
}

/// A worker that reached max_tasks_per_child and drained is replaced.
void retire_if_spent(supervisor* self, std::uint64_t slot) {
  auto& st = self->state;
  auto& w = st.workers.at(slot);
  auto limit = st.options.max_tasks_per_child;
  if (limit == 0 || w.assigned < limit || !w.in_flight.empty() || w.state != phase::ready)
    return;
  w.state = phase::stopping;
  self->send(w.handle, pool_stop_atom::value);
  if (!st.closed || !st.tasks.empty())
    start_slot(self);
}

void break_pool(supervisor* self, std::string why) {
  auto& st = self->state;
  st.broken = "proctor: the pool is broken: " + why;
  publish_status(self);
  fail_all(self, errc::pool_broken, *st.broken);
  kill_workers(self);
}

void on_worker_down(supervisor* self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto s = st.slot_of.find(msg.source);
  if (s == st.slot_of.end())
    return;
  auto slot = s->second;
  st.slot_of.erase(s);
  auto w = std::move(st.workers.at(slot));
  st.workers.erase(slot);
  bool retired = w.state == phase::stopping && w.in_flight.empty();
  if (!retired && !st.terminated && !st.broken) {
    auto cause = describe_end(msg.reason, w);
    // The front task was running, unless its result was still on its way
    // when the process died: with one task unanswered, or one killed for
    // its timeout, the death is surely that task's doing and counts as an
    // attempt. With several, nobody is blamed; all become suspects and run
    // alone from now on.
    bool sure = w.in_flight.size() == 1
                || (!w.in_flight.empty() && st.tasks.at(w.in_flight.front()).timed_out);
    std::vector<std::uint64_t> requeue;
    for (std::size_t i = 0; i < w.in_flight.size(); ++i) {
      auto id = w.in_flight[i];
      auto& task = st.tasks.at(id);
      task.worker = 0;
      if (i == 0 && sure && ++task.attempts > st.options.max_retries) {
        auto code = task.timed_out ? errc::task_timed_out : errc::worker_died;
        auto text = std::string{"proctor: "}
                    + (task.timed_out ? "the task ran past the pool's task_timeout"
                                      : "the worker running the task died")
                    + " (" + cause + "); attempts: " + std::to_string(task.attempts);
        fail_task(self, id, {code, {}, std::move(text)});
        continue;
      }
      if (!sure)
        task.suspect = true;
      if (i == 0)
        ++st.stats.retried;
      requeue.push_back(id);
    }
    st.pending.insert(st.pending.begin(), requeue.begin(), requeue.end());
    ++st.stats.worker_restarts;
    if (!st.intensity.allow(restart_intensity::clock::now())) {
      break_pool(self, "more than " + std::to_string(st.options.max_restarts)
                         + " worker restarts within "
                         + std::to_string(st.options.restart_period.count())
                         + " ms; the last: " + cause);
    } else if (!st.closed || !st.tasks.empty()) {
      start_slot(self);
    }
  }
  dispatch(self);
  settle(self);
}

} // namespace proctor::internal
