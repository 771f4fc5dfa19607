#pragma once

// The pool's supervisor. It is one actor, the pool's *inbox*, and the state
// behind it: workers' results, their down messages and started workers all
// arrive at the inbox (task timeouts at the io thread's timers), and callers
// submit, close, join and terminate directly. The inbox handles each message
// at once, on the thread that delivers it (the io thread, for a worker's
// results), under the pool's mutex: a result then completes its task and
// refills its worker's window without waking any other thread. Messages to
// workers are queued under the mutex and sent after it is released
// (`flush`), in order.
//
// Threads and locks: mtx_ guards all the state below; it is held only for
// bookkeeping, never across a send, a wait or user code. On the io thread
// the inbox takes mtx_, then flush sends (a send from the io thread never
// waits). Callers' threads take mtx_ to submit and wait on `ended_` or a
// result_state. Worker processes are started by a detached actor
// (start_worker) through the runtime's spawner thread, never on the io
// thread. Callbacks and progress hooks run on the callback actor's thread.
//
// The files: pool_core.cpp (the blocking API, the inbox's messages, sending),
// pool_dispatch.cpp (tasks: windows, results), pool_supervision.cpp (worker
// processes: start, retire, death, restart intensity).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

#include "actors/supervision/restart_intensity.hpp"
#include "actors/wire/segments.hpp"
#include "proctor/pool.hpp"
#include "runtime/pool/task_timer.hpp"

namespace proctor::internal {

class heap_trimmer;

class runtime_impl;
class worker_process;

} // namespace proctor::internal

// A started worker's process only ever travels inside this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<proctor::internal::worker_process>)

namespace proctor::internal {

using worker_up_atom = caf::atom_constant<caf::atom("pl_up")>;
using start_failed_atom = caf::atom_constant<caf::atom("pl_nostart")>;

/// Tasks a worker holds at once. At least two: one running, one ready to
/// go, so that a worker never idles for a round trip. Tiny tasks get more,
/// about `window_span_us` worth of running time, so that the pool is not
/// bound by round trips; a slow task then strands none but tiny ones behind it.
constexpr std::size_t min_window = 2;
constexpr std::size_t max_window = 512;
constexpr double window_span_us = 1000;

struct pool_task {
  chunk work;
  std::shared_ptr<result_state> result;
  std::size_t part = 0;
  std::size_t attempts = 0;   ///< deaths of its worker that were surely its doing
  std::size_t node_losses = 0; ///< nodes lost while it was on them
  std::uint64_t runs = 0;     ///< times it reached the front of a worker (timer token)
  /// Was among several unanswered tasks of a worker that died: it runs alone
  /// from now on, so that a death can be pinned on it or cleared.
  bool suspect = false;
  std::uint64_t worker = 0;   ///< the slot holding it, 0 while pending
  bool timed_out = false;     ///< its worker was killed for running too long
  task_timer timer;           ///< armed while it runs, with a task_timeout

  /// Runs alone on its worker: a suspect, or a task that must not run twice
  /// (so that its worker's death is surely its own).
  bool alone() const noexcept {
    return suspect || work.no_retry;
  }
};

enum class phase { starting, initializing, ready, stopping };

struct worker_slot {
  phase state = phase::starting;
  std::string target; ///< the node it runs on; empty: this host
  caf::actor handle;
  std::shared_ptr<worker_process> child;
  std::deque<std::uint64_t> in_flight; ///< in dispatch order: the front runs
  std::size_t assigned = 0;
  std::optional<std::string> init_failure;
  std::vector<char> batch; ///< tasks dispatched, not yet queued for sending
  segment_refs batch_segments; ///< the shared memory of the batch's tasks
  std::size_t batch_shared = 0; ///< their bytes (content_size)
};

class pool_core : public std::enable_shared_from_this<pool_core> {
public:
  static std::shared_ptr<pool_core> make(runtime_impl& rt, pool_options options);

  pool_core(runtime_impl& rt, pool_options options);
  ~pool_core();

  // -- the blocking API (pool_core.cpp) -----------------------------------------

  void submit(std::shared_ptr<result_state> result, std::vector<chunk> chunks);
  /// Chunk i for results[i], each a submission of its own, sent together:
  /// one dispatch and one flush for them all (the durable jobs' claims). A
  /// chunk over the frame limit fails its own result with frame_too_large.
  void submit_each(std::vector<std::shared_ptr<result_state>>& results,
                   std::vector<chunk>& chunks);
  void close();
  void terminate();
  bool join(std::optional<std::chrono::steady_clock::time_point> deadline);
  pool_stats stats();
  /// The moving average of a task's running time in microseconds; negative
  /// before the first result.
  double task_us();
  /// terminate, join and retire the inbox: the pool's end.
  void shutdown();

  /// A message to the inbox, on the thread that sent it.
  void receive(caf::message& msg, const caf::strong_actor_ptr& sender);

private:
  /// Throws if the pool takes no more tasks (under mtx_).
  void check_open() const;
  /// Why chunk `c` cannot be sent, if it cannot: its arguments exceed a frame.
  std::optional<std::string> too_large(const chunk& c) const;
  using guard_type = std::unique_lock<std::mutex>;

  // -- pool_core.cpp --------------------------------------------------------------

  void start();
  void post(const caf::actor& to, caf::message msg);
  void flush();
  void on_worker_up(std::uint64_t slot, caf::actor handle,
                    std::shared_ptr<worker_process> child);
  void on_init_answer(const caf::strong_actor_ptr& sender, std::optional<std::string> failure);
  void complete(pool_task& task, std::vector<char> bytes, segment_refs segments = {});
  void fail_task(std::uint64_t id, task_failure why);
  void fail_all(errc code, const std::string& text);

  // -- tasks (pool_dispatch.cpp) --------------------------------------------------

  void enqueue(std::shared_ptr<result_state>& result, std::vector<chunk>& chunks);
  void dispatch();
  void send_batch(worker_slot& w);
  void starts_running(std::uint64_t id);
  void on_results(const caf::strong_actor_ptr& sender, const std::vector<char>& batch,
                  const segment_refs& segments);
  void on_task_timeout(std::uint64_t id, std::uint64_t run);
  void settle();

  // -- workers (pool_supervision.cpp) ---------------------------------------------

  void start_slot(std::string target);
  /// Where a worker meant for `preferred` starts: there if it is this host
  /// or a live node, else another live node of the pool, else this host if
  /// the pool has local workers; nothing if there is no place.
  std::optional<std::string> place(const std::string& preferred);
  void kill_workers();
  void retire_if_spent(std::uint64_t slot);
  void break_pool(std::string why);
  /// `node_lost`: the worker's node died meanwhile (not a crash: outside the
  /// restart intensity).
  void on_start_failed(std::uint64_t slot, const std::string& why, bool node_lost);
  /// A pool that needs workers and has neither one nor a place to start
  /// one is broken, so that nothing waits on it forever.
  void break_if_stranded(const std::string& why);
  void on_worker_down(const caf::actor_addr& source, const caf::error& reason);
  /// The worker's node was lost: its tasks run again elsewhere, each up to
  /// max_node_losses times (not at all for a no_retry task, which may have run).
  void requeue_after_node_loss(worker_slot& w, const std::string& cause);
  bool over() const;

  runtime_impl& rt_;
  pool_options options_;
  std::size_t batch_bytes_; ///< batch_limit() of the runtime's frame limit
  caf::actor inbox_;
  caf::actor callbacks_; ///< runs results' callbacks, spawned when first needed
  std::size_t callbacks_pending_ = 0; ///< sent to callbacks_, not yet run

  std::mutex mtx_;
  /// For join(): over, no worker left and every callback run.
  std::condition_variable ended_;
  restart_intensity intensity_;
  std::unordered_map<std::uint64_t, pool_task> tasks_; ///< every unfinished task
  std::deque<std::uint64_t> pending_;
  std::map<std::uint64_t, worker_slot> workers_;
  std::map<caf::actor_addr, std::uint64_t> slot_of_;
  std::uint64_t next_task_ = 1;
  std::uint64_t next_slot_ = 1;
  std::size_t next_node_ = 0; ///< round robin over options_.nodes for re-placing
  bool closed_ = false;
  bool terminated_ = false;
  std::optional<std::string> broken_;
  pool_stats stats_;
  double task_us_ = -1; ///< moving average of a task's running time; -1: none yet
  /// Result bytes since the pool was last out of work (heap_trimmer).
  std::size_t bytes_moved_ = 0;
  /// The runtime's, looked up once: it is told at every submit.
  std::weak_ptr<heap_trimmer> trimmer_;

  /// Messages for workers, sent in order by one thread at a time.
  std::deque<std::pair<caf::actor, caf::message>> outbox_;
  bool flushing_ = false;
};

} // namespace proctor::internal
