// The pool's worker processes, one_for_one: started off the caller's thread,
// replaced when spent (max_tasks_per_child) or dead, within the restart
// intensity; a dead worker's tasks go back to the queue. Every function here
// runs under the pool's mutex.
#include "runtime/pool/pool_core.hpp"

#include <csignal>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

#include "runtime/pool/pool_protocol.hpp"
#include "actors/errors.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor::internal {

namespace {

void start_worker(caf::blocking_actor* self, runtime_impl* rt, caf::actor inbox,
                  std::uint64_t slot, std::string target) {
  std::shared_ptr<worker_process> child;
  try {
    caf::actor handle;
    if (target.empty()) {
      // Daemons: the runtime's end terminates them instead of waiting.
      auto local = rt->start_child(true, "PoolWorker");
      child = local;
      handle = caf::actor_cast<caf::actor>(rt->spawn_in(*local, pool_worker_actor, {}));
    } else {
      auto placed = rt->start_on_node(target, pool_worker_actor, {}, "PoolWorker");
      child = std::move(placed.process);
      handle = caf::actor_cast<caf::actor>(std::move(placed.actor));
    }
    self->send(inbox, worker_up_atom::value, slot, std::move(handle), std::move(child));
  } catch (const std::exception& e) {
    if (child)
      child->signal(SIGKILL); // started, but no use without its actor
    auto* failure = dynamic_cast<const error*>(&e);
    bool node_lost = failure != nullptr && failure->code() == errc::node_down;
    self->send(inbox, start_failed_atom::value, slot, std::string{e.what()}, node_lost);
  }
}

std::string describe_end(const caf::error& reason, const worker_slot& w) {
  if (w.init_failure)
    return "its initializer failed: " + *w.init_failure;
  auto which = "worker " + (w.child ? w.child->describe() : std::string{"pid ?"});
  if (auto code = exitcode_of(reason)) {
    exit_status status{*code < 0, *code < 0 ? -*code : *code};
    return which + " " + status.to_string();
  }
  return which + " is gone";
}

} // namespace

void pool_core::start_slot(std::string target) {
  auto slot = next_slot_++;
  workers_[slot].target = target;
  rt_.system().spawn<caf::detached>(start_worker, &rt_, inbox_, slot, std::move(target));
}

std::optional<std::string> pool_core::place(const std::string& preferred) {
  if (preferred.empty() || rt_.node_cores(preferred))
    return preferred;
  for (std::size_t i = 0; i < options_.nodes.size(); ++i) {
    auto& node = options_.nodes[next_node_++ % options_.nodes.size()];
    if (rt_.node_cores(node))
      return node;
  }
  if (options_.processes > 0)
    return std::string{};
  return std::nullopt;
}

void pool_core::requeue_after_node_loss(worker_slot& w, const std::string& cause) {
  // Counted apart from attempts: a lost node is not the task's doing, but a
  // task that each node it reaches is lost under (one that brings its host
  // down) must not go round the cluster forever.
  std::vector<std::uint64_t> requeue;
  for (auto id : w.in_flight) {
    auto& task = tasks_.at(id);
    task.worker = 0;
    task.timer.cancel();
    auto limit = task.work.no_retry ? 0 : options_.max_node_losses;
    if (++task.node_losses > limit) {
      fail_task(id, {errc::node_down, {},
                     "proctor: the node running the task was lost (" + cause + "); nodes lost: "
                       + std::to_string(task.node_losses)
                       + (task.work.no_retry ? " (no_retry: not run again)" : "")});
      continue;
    }
    ++stats_.retried;
    requeue.push_back(id);
  }
  pending_.insert(pending_.begin(), requeue.begin(), requeue.end());
  w.in_flight.clear();
}

void pool_core::kill_workers() {
  for (auto& [id, w] : workers_)
    if (w.child)
      w.child->signal(SIGKILL);
}

/// A worker that reached max_tasks_per_child and drained is replaced.
void pool_core::retire_if_spent(std::uint64_t slot) {
  auto& w = workers_.at(slot);
  auto limit = options_.max_tasks_per_child;
  if (limit == 0 || w.assigned < limit || !w.in_flight.empty() || w.state != phase::ready)
    return;
  w.state = phase::stopping;
  post(w.handle, caf::make_message(pool_stop_atom::value));
  if (!closed_ || !tasks_.empty())
    if (auto target = place(w.target))
      start_slot(std::move(*target));
}

void pool_core::break_pool(std::string why) {
  broken_ = "proctor: the pool is broken: " + why;
  fail_all(errc::pool_broken, *broken_);
  kill_workers();
}

void pool_core::on_start_failed(std::uint64_t slot, const std::string& why, bool node_lost) {
  auto preferred = workers_.at(slot).target;
  workers_.erase(slot);
  ++stats_.worker_restarts;
  if (!terminated_ && !broken_) {
    auto target = place(preferred);
    if (!node_lost && !intensity_.allow(restart_intensity::clock::now()))
      break_pool("cannot start workers: " + why);
    else if (target)
      start_slot(std::move(*target));
    else
      break_if_stranded("no place left for a worker: " + why);
  }
  settle();
}

void pool_core::break_if_stranded(const std::string& why) {
  if (workers_.empty() && !terminated_ && !broken_ && (!closed_ || !tasks_.empty()))
    break_pool(why);
}

void pool_core::on_worker_down(const caf::actor_addr& source, const caf::error& reason) {
  auto s = slot_of_.find(source);
  if (s == slot_of_.end())
    return;
  auto slot = s->second;
  slot_of_.erase(s);
  auto w = std::move(workers_.at(slot));
  workers_.erase(slot);
  bool retired = w.state == phase::stopping && w.in_flight.empty();
  // The worker's actor is gone or unreachable (a batch it could not take)
  // while its process lives: a process without it serves nobody.
  if (!retired && w.child && !exitcode_of(reason))
    w.child->signal(SIGKILL);
  // (CAF 0.17's category() reads through a null pointer on an empty error.)
  bool node_lost = reason && reason.category() == error_category
                   && static_cast<errc>(reason.code()) == errc::node_down;
  if (!retired && !terminated_ && !broken_ && node_lost) {
    // Its node is gone, not its doing: its tasks run again elsewhere, and a
    // worker takes its place elsewhere, outside the restart intensity.
    requeue_after_node_loss(w, describe_end(reason, w) + ": " + detail_of(reason));
    ++stats_.worker_restarts;
    if (auto target = place(w.target); target && (!closed_ || !tasks_.empty()))
      start_slot(std::move(*target));
    else
      break_if_stranded("no place left for a worker: " + describe_end(reason, w) + ": "
                        + detail_of(reason));
  } else if (!retired && !terminated_ && !broken_) {
    auto cause = describe_end(reason, w);
    // The front task was running, unless its result was still on its way
    // (or held back in the worker's batch) when the process died: only with
    // one task unanswered is the death surely that task's doing, and counts
    // as an attempt. With several, nobody is blamed, even for a timeout;
    // all become suspects and run alone from now on.
    bool sure = w.in_flight.size() == 1;
    std::vector<std::uint64_t> requeue;
    for (std::size_t i = 0; i < w.in_flight.size(); ++i) {
      auto id = w.in_flight[i];
      auto& task = tasks_.at(id);
      task.worker = 0;
      task.timer.cancel();
      auto retries = task.work.no_retry ? 0 : options_.max_retries;
      if (i == 0 && sure && ++task.attempts > retries) {
        auto code = task.timed_out ? errc::task_timed_out : errc::worker_died;
        auto text = std::string{"proctor: "}
                    + (task.timed_out ? "the task ran past the pool's task_timeout"
                                      : "the worker running the task died")
                    + " (" + cause + "); attempts: " + std::to_string(task.attempts)
                    + (task.work.no_retry ? " (no_retry: not run again)" : "");
        fail_task(id, {code, {}, std::move(text)});
        continue;
      }
      if (!sure)
        task.suspect = true;
      ++stats_.retried;
      requeue.push_back(id);
    }
    pending_.insert(pending_.begin(), requeue.begin(), requeue.end());
    ++stats_.worker_restarts;
    if (!intensity_.allow(restart_intensity::clock::now())) {
      break_pool("more than " + std::to_string(options_.max_restarts)
                 + " worker restarts within " + std::to_string(options_.restart_period.count())
                 + " ms; the last: " + cause);
    } else if (!closed_ || !tasks_.empty()) {
      if (auto target = place(w.target))
        start_slot(std::move(*target));
      else
        break_if_stranded("no place left for a worker after " + cause);
    }
  }
  // A retired worker is not replaced; if it was the last one and its place
  // is gone, nothing would run what comes.
  if (retired && !place(w.target))
    break_if_stranded("no place left for a worker: its node is gone");
  dispatch();
  settle();
}

} // namespace proctor::internal
