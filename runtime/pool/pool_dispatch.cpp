// The pool's tasks: each worker holds a window of them, sent as one batch;
// results come back in batches, and each one refills its worker's window.
// Results carry their task id; one from a worker that no longer holds the
// task is a duplicate and is dropped. Every function here runs under the
// pool's mutex.
#include "runtime/pool/pool_core.hpp"

#include <algorithm>
#include <csignal>


#include <caf/message.hpp>

#include "runtime/pool/pool_protocol.hpp"
#include "runtime/core/heap_trimmer.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

void pool_core::enqueue(std::shared_ptr<result_state>& result, std::vector<chunk>& chunks) {
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    auto id = next_task_++;
    tasks_.emplace(id, pool_task{std::move(chunks[i]), result, i});
    pending_.push_back(id);
  }
  stats_.submitted += chunks.size();
}

/// Task `id` reached the front of its worker: it runs now. Arms its timeout
/// on the io thread's timers, not CAF's clock: the clock thread would have
/// to take the pool's mutex to deliver it, while a thread holding that
/// mutex may be waiting for room in the clock's queue.
void pool_core::starts_running(std::uint64_t id) {
  auto& task = tasks_.at(id);
  ++task.runs;
  auto limit = task.work.timeout ? task.work.timeout : options_.task_timeout;
  if (!limit)
    return;
  task.timer = task_timer{rt_.io(), *limit,
                          [core = weak_from_this(), id, run = task.runs] {
                            if (auto self = core.lock()) {
                              {
                                guard_type guard{self->mtx_};
                                self->on_task_timeout(id, run);
                              }
                              self->flush();
                            }
                          }};
}

/// Queues the tasks gathered for `w` as one message.
void pool_core::send_batch(worker_slot& w) {
  post(w.handle, caf::make_message(pool_run_atom::value, std::move(w.batch),
                                   segment_list{std::move(w.batch_segments)}));
  w.batch.clear();
  w.batch_segments.clear();
  w.batch_shared = 0;
}

void pool_core::dispatch() {
  if (broken_ || terminated_)
    return;
  auto limit = options_.max_tasks_per_child;
  // While a worker is still starting, a task queued behind a running one
  // could have run on it: hold one task per worker until all are up.
  bool all_up = std::all_of(workers_.begin(), workers_.end(), [](auto& w) {
    return w.second.state != phase::starting && w.second.state != phase::initializing;
  });
  auto window = min_window;
  if (task_us_ >= 0)
    window = std::clamp(static_cast<std::size_t>(window_span_us / std::max(task_us_, 1.0)),
                        min_window, max_window);
  auto depth_limit = all_up ? window : std::size_t{1};
  auto open = [&](const worker_slot& w) {
    return w.state == phase::ready && (limit == 0 || w.assigned < limit);
  };
  auto depth = depth_limit + 1;
  for (auto& [slot, w] : workers_)
    if (open(w))
      depth = std::min(depth, w.in_flight.size() + 1);
  // Round-robin, one task per worker per round, from the least loaded up, so
  // that a short queue is spread over every worker.
  for (; depth <= depth_limit && !pending_.empty(); ++depth)
    for (auto& [slot, w] : workers_) {
      if (pending_.empty())
        break;
      if (!open(w) || w.in_flight.size() >= depth)
        continue;
      // A suspect runs alone: nothing joins it, and it joins nothing.
      auto id = pending_.front();
      auto& task = tasks_.at(id);
      if (!w.in_flight.empty() && (task.alone() || tasks_.at(w.in_flight.front()).alone()))
        continue;
      pending_.pop_front();
      // Submit checked the task's own bytes; its shared memory travels
      // inline to a worker on another host, and may not fit a frame there.
      if (!w.target.empty()
          && task_record_size(task.work.entry->name, task.work.args)
                 + content_size(task.work.segments) + record_overhead
               > rt_.max_frame_size()) {
        fail_task(id, {errc::frame_too_large, "proctor::error",
                       "proctor: a task's arguments with their proctor::bytes ("
                         + std::to_string(content_size(task.work.segments))
                         + " bytes) exceed the frame limit to a worker on another host "
                           "(--proctor.max-frame-size)"});
        continue;
      }
      task.worker = slot;
      task.timed_out = false;
      w.in_flight.push_back(id);
      ++w.assigned;
      // A record that would take the batch past the frame limit starts the
      // next batch (submit refused any record that cannot fit one alone).
      // Shared memory counts: over TCP it travels inline.
      auto record = task_record_size(task.work.entry->name, task.work.args)
                    + content_size(task.work.segments);
      if (!w.batch.empty() && w.batch.size() + w.batch_shared + record > batch_bytes_)
        send_batch(w);
      auto& shared = task.work.segments;
      append_task(w.batch, id, task.work.entry->name, task.work.count,
                  static_cast<std::uint32_t>(w.batch_segments.size()),
                  static_cast<std::uint32_t>(shared.size()), task.work.args);
      w.batch_segments.insert(w.batch_segments.end(), shared.begin(), shared.end());
      w.batch_shared += content_size(shared);
      if (w.batch.size() + w.batch_shared >= batch_bytes_)
        send_batch(w);
      if (w.in_flight.size() == 1)
        starts_running(id);
    }
  for (auto& [slot, w] : workers_)
    if (!w.batch.empty())
      send_batch(w);
}

/// Ends the workers once nothing is left to do; wakes join() once they are
/// all gone.
void pool_core::settle() {
  if (!over())
    return;
  for (auto& [id, w] : workers_)
    if (w.state == phase::ready || w.state == phase::initializing) {
      w.state = phase::stopping;
      post(w.handle, caf::make_message(pool_stop_atom::value));
    }
  if (workers_.empty())
    ended_.notify_all();
}

bool pool_core::over() const {
  return terminated_ || broken_ || (closed_ && tasks_.empty());
}

void pool_core::on_results(const caf::strong_actor_ptr& sender, const std::vector<char>& batch,
                           const segment_refs& segments) {
  auto s = slot_of_.find(caf::actor_cast<caf::actor_addr>(sender));
  if (s == slot_of_.end())
    return;
  auto slot = s->second;
  auto& w = workers_.at(slot);
  batch_reader reader{batch};
  result_record r;
  while (reader.next(r)) {
    // Answers come in dispatch order: one for any other task than the
    // front is for a task this worker no longer holds.
    auto t = tasks_.find(r.id);
    if (t == tasks_.end() || t->second.worker != slot || w.in_flight.empty()
        || w.in_flight.front() != r.id)
      continue;
    task_us_ = task_us_ < 0 ? r.run_us : 0.8 * task_us_ + 0.2 * r.run_us;
    w.in_flight.pop_front();
    if (!w.in_flight.empty())
      starts_running(w.in_flight.front());
    if (r.code != 0) {
      fail_task(r.id, {static_cast<errc>(r.code), std::move(r.type), std::move(r.what)});
      continue;
    }
    ++stats_.done;
    segment_refs shared;
    if (r.segment_count > 0 && r.segment_base <= segments.size()
        && r.segment_count <= segments.size() - r.segment_base)
      shared.assign(segments.begin() + r.segment_base,
                    segments.begin() + r.segment_base + r.segment_count);
    complete(t->second, std::move(r.bytes), std::move(shared));
    tasks_.erase(t);
  }
  bytes_moved_ += batch.size() + content_size(segments);
  if (tasks_.empty())
    // Out of work: the heap its batches grew goes back to the system if
    // the process stays quiet, as an idle worker's does.
    if (auto trimmer = trimmer_.lock())
      trimmer->idle(std::exchange(bytes_moved_, 0));
  if (reader.malformed()) {
    // Not our worker's doing; nothing it says can be trusted from here on.
    log("pool", log_level::error, "a pool worker sent results that do not decode; killing it");
    if (w.child)
      w.child->signal(SIGKILL);
  }
  retire_if_spent(slot);
  dispatch();
  settle();
}

void pool_core::on_task_timeout(std::uint64_t id, std::uint64_t run) {
  auto t = tasks_.find(id);
  if (t == tasks_.end() || t->second.runs != run || t->second.worker == 0)
    return;
  auto& w = workers_.at(t->second.worker);
  if (w.in_flight.empty() || w.in_flight.front() != id || !w.child)
    return;
  t->second.timed_out = true;
  w.child->signal(SIGKILL);
}

} // namespace proctor::internal
