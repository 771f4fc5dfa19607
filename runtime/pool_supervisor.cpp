// The pool's supervisor, an actor on its own thread: it starts the worker
// processes, hands each a small window of tasks, and when a worker dies
// (one_for_one) starts a replacement and dispatches the tasks it held again,
// within the restart intensity. Results carry their task id; one from a
// worker that no longer holds the task is a duplicate and is dropped.
#include "runtime/pool_state.hpp"

#include <algorithm>
#include <csignal>

#include "runtime/pool_protocol.hpp"
#include "runtime/runtime_impl.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<proctor::internal::child_process>)

namespace proctor::internal {

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

namespace {

/// Task `id` reached the front of its worker: it runs now. Arms its timeout.
void starts_running(supervisor* self, std::uint64_t id) {
  auto& st = self->state;
  auto& task = st.tasks.at(id);
  ++task.runs;
  if (st.options.task_timeout)
    self->delayed_send(self, *st.options.task_timeout, task_timeout_atom::value, id, task.runs);
}

} // namespace

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


namespace {

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
        st.tasks.erase(id);
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