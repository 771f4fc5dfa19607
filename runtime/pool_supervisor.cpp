// The pool's supervisor, an actor on its own thread: it starts the worker
// processes, hands each a small window of tasks, and when a worker dies
// (one_for_one) starts a replacement and dispatches the tasks it held again,
// within the restart intensity. Results carry their task id; one from a
// worker that no longer holds the task is a duplicate and is dropped.
#include "runtime/pool_core.hpp"

#include <algorithm>
#include <csignal>
#include <deque>
#include <map>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/restart_intensity.hpp"
#include "runtime/pool_protocol.hpp"
#include "runtime/runtime_impl.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<proctor::internal::child_process>)

namespace proctor::internal {

using worker_up_atom = caf::atom_constant<caf::atom("pl_up")>;
using start_failed_atom = caf::atom_constant<caf::atom("pl_nostart")>;
using task_timeout_atom = caf::atom_constant<caf::atom("pl_tmo")>;

namespace {

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

void start_slot(supervisor* self) {
  auto& st = self->state;
  auto slot = st.next_slot++;
  st.workers[slot];
  self->spawn<caf::detached>(start_worker, st.rt, caf::actor_cast<caf::actor>(self), slot);
}

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

void finish_task(supervisor* self, std::uint64_t id) {
  auto& st = self->state;
  st.tasks.erase(id);
}

void fail_task(supervisor* self, std::uint64_t id, task_failure why) {
  auto& st = self->state;
  auto i = st.tasks.find(id);
  if (i == st.tasks.end())
    return;
  auto task = std::move(i->second);
  st.tasks.erase(i);
  ++st.stats.failed;
  task.result->fail(task.part, std::move(why));
}

void publish_status(supervisor* self) {
  auto& st = self->state;
  // Only ever raise the flags: the caller sets closed and terminated before
  // its message arrives here.
  std::lock_guard<std::mutex> guard{st.status->mtx};
  st.status->closed = st.status->closed || st.closed;
  st.status->terminated = st.status->terminated || st.terminated;
  if (st.broken)
    st.status->broken = st.broken;
}

void kill_workers(supervisor* self) {
  for (auto& [id, w] : self->state.workers)
    if (w.child)
      w.child->signal(SIGKILL);
}

/// Fails every unfinished task with `code` and `text`.
void fail_all(supervisor* self, errc code, const std::string& text) {
  auto& st = self->state;
  std::vector<std::uint64_t> ids;
  for (auto& [id, task] : st.tasks)
    ids.push_back(id);
  for (auto id : ids)
    fail_task(self, id, {code, {}, text});
  st.pending.clear();
  for (auto& [id, w] : st.workers)
    w.in_flight.clear();
}

/// Ends the workers once nothing is left to do; answers join() once they
/// are all gone.
void settle(supervisor* self) {
  auto& st = self->state;
  bool over = st.terminated || st.broken || (st.closed && st.tasks.empty());
  if (!over)
    return;
  for (auto& [id, w] : st.workers)
    if (w.state == phase::ready || w.state == phase::initializing) {
      w.state = phase::stopping;
      self->send(w.handle, pool_stop_atom::value);
    }
  if (!st.workers.empty())
    return;
  for (auto& j : st.joiners)
    j.deliver(true);
  st.joiners.clear();
}

void starts_running(supervisor* self, std::uint64_t id);

void dispatch(supervisor* self) {
  auto& st = self->state;
  if (st.broken || st.terminated)
    return;
  auto limit = st.options.max_tasks_per_child;
  // While a worker is still starting, a task queued behind a running one
  // could have run on it: hold one task per worker until all are up.
  bool all_up = std::all_of(st.workers.begin(), st.workers.end(),
                            [](auto& w) { return w.second.state != phase::starting
                                                 && w.second.state != phase::initializing; });
  auto window = min_window;
  if (st.task_us >= 0)
    window = std::clamp(static_cast<std::size_t>(window_span_us / std::max(st.task_us, 1.0)),
                        min_window, max_window);
  auto depth_limit = all_up ? window : std::size_t{1};
  for (std::size_t depth = 1; depth <= depth_limit && !st.pending.empty(); ++depth)
    for (auto& [slot, w] : st.workers) {
      if (st.pending.empty())
        break;
      if (w.state != phase::ready || w.in_flight.size() >= depth
          || (limit != 0 && w.assigned >= limit))
        continue;
      // A suspect runs alone: nothing joins it, and it joins nothing.
      auto id = st.pending.front();
      auto& task = st.tasks.at(id);
      if (!w.in_flight.empty()
          && (task.suspect || st.tasks.at(w.in_flight.front()).suspect))
        continue;
      st.pending.pop_front();
      task.worker = slot;
      task.timed_out = false;
      w.in_flight.push_back(id);
      ++w.assigned;
      self->send(w.handle, pool_run_atom::value, id, task.work.entry->name, task.work.count,
                 task.work.args);
      if (w.in_flight.size() == 1)
        starts_running(self, id);
    }
}

/// Task `id` reached the front of its worker: it runs now. Arms its timeout.
void starts_running(supervisor* self, std::uint64_t id) {
  auto& st = self->state;
  auto& task = st.tasks.at(id);
  ++task.runs;
  if (st.options.task_timeout)
    self->delayed_send(self, *st.options.task_timeout, task_timeout_atom::value, id, task.runs);
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

/// The worker in `slot` answered task `id`: its first in-flight task.
pool_task* answered(supervisor* self, std::uint64_t slot, std::uint64_t id) {
  auto& st = self->state;
  auto w = st.workers.find(slot);
  auto t = st.tasks.find(id);
  if (w == st.workers.end() || t == st.tasks.end() || t->second.worker != slot
      || w->second.in_flight.empty() || w->second.in_flight.front() != id)
    return nullptr; // a duplicate: the task was finished or moved on
  w->second.in_flight.pop_front();
  if (!w->second.in_flight.empty())
    starts_running(self, w->second.in_flight.front());
  return &t->second;
}

void after_answer(supervisor* self, std::uint64_t slot) {
  retire_if_spent(self, slot);
  dispatch(self);
  settle(self);
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

caf::behavior supervise(supervisor* self, runtime_impl* rt, pool_options options,
                        std::shared_ptr<pool_status> status) {
  auto& st = self->state;
  st.rt = rt;
  st.status = std::move(status);
  st.intensity = restart_intensity{options.max_restarts, options.restart_period};
  st.options = std::move(options);
  for (std::size_t i = 0; i < st.options.processes; ++i)
    start_slot(self);
  self->set_down_handler([=](caf::down_msg& msg) { on_worker_down(self, msg); });
  return {
    [=](submit_atom, std::shared_ptr<submission>& s) {
      auto& st = self->state;
      std::optional<task_failure> refused;
      if (st.broken)
        refused = task_failure{errc::pool_broken, {}, *st.broken};
      else if (st.terminated)
        refused = task_failure{errc::pool_terminated, {}, "proctor: the pool was terminated"};
      else if (st.closed)
        refused = task_failure{errc::invalid_state, {}, "proctor: the pool is closed"};
      for (std::size_t i = 0; i < s->chunks.size(); ++i) {
        if (refused) {
          s->result->fail(i, *refused);
          continue;
        }
        auto id = st.next_task++;
        st.tasks.emplace(id, pool_task{std::move(s->chunks[i]), s->result, i});
        st.pending.push_back(id);
        ++st.stats.submitted;
      }
      dispatch(self);
    },
    [=](worker_up_atom, std::uint64_t slot, caf::actor& handle,
        std::shared_ptr<child_process>& child) {
      auto& st = self->state;
      auto& w = st.workers.at(slot);
      w.handle = handle;
      w.child = child;
      st.slot_of[caf::actor_cast<caf::actor_addr>(handle)] = slot;
      self->monitor(handle);
      if (st.terminated || st.broken) {
        child->signal(SIGKILL);
        return;
      }
      if (st.options.initializer) {
        w.state = phase::initializing;
        auto& init = st.options.initializer->bound;
        self->send(handle, pool_init_atom::value, init.entry->name, init.args);
      } else {
        w.state = phase::ready;
        dispatch(self);
      }
      settle(self);
    },
    [=](start_failed_atom, std::uint64_t slot, const std::string& why) {
      auto& st = self->state;
      st.workers.erase(slot);
      ++st.stats.worker_restarts;
      if (!st.terminated && !st.broken) {
        if (!st.intensity.allow(restart_intensity::clock::now()))
          break_pool(self, "cannot start workers: " + why);
        else
          start_slot(self);
      }
      settle(self);
    },
    [=](pool_ready_atom) {
      auto& st = self->state;
      auto s = st.slot_of.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (s == st.slot_of.end())
        return;
      auto& w = st.workers.at(s->second);
      if (w.state == phase::initializing)
        w.state = phase::ready;
      dispatch(self);
    },
    [=](pool_result_atom, std::uint64_t id, std::vector<char>& bytes, std::uint32_t run_us) {
      auto& st = self->state;
      st.task_us = st.task_us < 0 ? run_us : 0.8 * st.task_us + 0.2 * run_us;
      auto s = st.slot_of.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (s == st.slot_of.end())
        return;
      auto slot = s->second;
      if (auto* task = answered(self, slot, id)) {
        auto result = task->result;
        auto part = task->part;
        finish_task(self, id);
        ++st.stats.done;
        result->complete(part, std::move(bytes));
      }
      after_answer(self, slot);
    },
    [=](pool_failed_atom, std::uint64_t id, std::uint8_t code, std::string& type,
        std::string& what) {
      auto& st = self->state;
      auto s = st.slot_of.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (s == st.slot_of.end())
        return;
      auto slot = s->second;
      if (id == 0) {
        // The worker ends itself; its down message restarts it.
        st.workers.at(slot).init_failure = type + ": " + what;
        return;
      }
      if (answered(self, slot, id))
        fail_task(self, id, {static_cast<errc>(code), std::move(type), std::move(what)});
      after_answer(self, slot);
    },
    [=](task_timeout_atom, std::uint64_t id, std::uint64_t attempt) {
      auto& st = self->state;
      auto t = st.tasks.find(id);
      if (t == st.tasks.end() || t->second.runs != attempt || t->second.worker == 0)
        return;
      auto& w = st.workers.at(t->second.worker);
      if (w.in_flight.empty() || w.in_flight.front() != id || !w.child)
        return;
      t->second.timed_out = true;
      w.child->signal(SIGKILL);
    },
    [=](close_pool_atom) {
      self->state.closed = true;
      publish_status(self);
      settle(self);
    },
    [=](terminate_atom) {
      auto& st = self->state;
      if (!st.terminated) {
        st.terminated = true;
        publish_status(self);
        fail_all(self, errc::pool_terminated, "proctor: the pool was terminated");
        kill_workers(self);
      }
      settle(self);
    },
    [=](join_pool_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      self->state.joiners.push_back(rp);
      settle(self);
      return rp;
    },
    [=](stats_atom) {
      auto& st = self->state;
      auto s = st.stats;
      s.running = 0;
      s.workers_alive = 0;
      for (auto& [id, w] : st.workers) {
        s.running += w.in_flight.empty() ? 0 : 1;
        if (w.state == phase::ready || w.state == phase::initializing)
          ++s.workers_alive;
      }
      return std::vector<std::uint64_t>{s.submitted, s.running,         s.done,
                                        s.failed,    s.retried,         s.worker_restarts,
                                        s.workers_alive};
    },
  };
}

} // namespace

caf::actor spawn_pool_supervisor(runtime_impl& rt, pool_options options,
                                 std::shared_ptr<pool_status> status) {
  return rt.system().spawn<caf::detached>(supervise, &rt, std::move(options),
                                          std::move(status));
}

} // namespace proctor::internal
