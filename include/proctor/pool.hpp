#pragma once

#include <chrono>
#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "proctor/async_result.hpp"
#include "proctor/detail/pool_chunks.hpp"
#include "proctor/runtime.hpp"
#include "proctor/task.hpp"

namespace proctor {

struct pool_options {
  /// Worker processes on this host; 0 means cpu_count(), or none if the
  /// pool has nodes.
  std::size_t processes = 0;
  /// Nodes (ids from runtime::nodes()) that host workers too. A node that
  /// dies costs no task: its tasks run again elsewhere (without counting as
  /// an attempt), and its workers are replaced on the pool's other nodes,
  /// or on this host if `processes` is not 0; a pool left without any
  /// place for a worker is broken (pool_broken).
  std::vector<std::string> nodes;
  /// Workers per node; 0 means the node's cores.
  std::size_t processes_per_node = 0;
  /// Run once in every worker, restarted ones too, before its first task.
  /// A worker whose initializer throws counts as a crash.
  std::optional<task_call> initializer;
  /// A worker that has run this many tasks (a map's chunk counts once) is
  /// replaced by a fresh one; 0 means never.
  std::size_t max_tasks_per_child = 0;
  /// Times a task is dispatched again after the worker running it died; then
  /// it fails with worker_died (or task_timed_out).
  std::size_t max_retries = 2;
  /// A task running longer is taken for a hung worker: the worker is killed
  /// and the task retried or failed with task_timed_out. Empty: no limit.
  std::optional<std::chrono::milliseconds> task_timeout;
  /// Restart intensity: more than `max_restarts` worker restarts within
  /// `restart_period` and the pool gives up and is broken (pool_broken).
  std::size_t max_restarts = 10;
  std::chrono::milliseconds restart_period{std::chrono::seconds{10}};
  /// Times a task is dispatched again because the node running it was lost
  /// (killed, frozen, cut off): not the task's doing, so apart from
  /// max_retries, but bounded, so that a task that brings down every host
  /// it reaches fails (node_down) instead of going round the cluster. A
  /// no_retry task, which may have run, fails at the first loss.
  std::size_t max_node_losses = 3;
};

struct pool_stats {
  std::size_t submitted = 0; ///< tasks (a map's chunk is one task)
  std::size_t running = 0;
  std::size_t done = 0;
  std::size_t failed = 0;
  std::size_t retried = 0;
  std::size_t worker_restarts = 0;
  std::size_t workers_alive = 0;
};

/// Callbacks for apply_async, map_async and starmap_async (Python's
/// `callback=` and `error_callback=`). `on_result` gets the value (nothing
/// for a void task; a map's whole vector); `on_error` gets the
/// proctor::error the result's get() would throw. Exactly one of them runs,
/// before the result becomes ready: once get() or wait() returned, it has
/// run. Both run on the pool's callback thread, one at a time, as Python's
/// result handler thread does: keep them short, and never wait on this
/// pool's results inside them.
template <class OnResult, class OnError>
struct callbacks {
  OnResult on_result;
  OnError on_error;
};
template <class OnResult, class OnError>
callbacks(OnResult, OnError) -> callbacks<OnResult, OnError>;

/// A progress bar's feed for map_async and starmap_async: called with
/// (results so far, total) each time a chunk finishes, failed or not, on the
/// pool's callback thread, in order; the last call has done == total.
struct progress_hook {
  std::function<void(std::size_t done, std::size_t total)> report;
};

namespace internal {
class pool_core;
class jobs_core;
} // namespace internal

/// Passed first to apply or apply_async: the task runs at most once. If its
/// worker dies while the task may have been running, the task fails with
/// worker_died instead of being dispatched again: for work that must not be
/// repeated (a payment, a reply half sent on a connection).
struct no_retry_t {
  explicit no_retry_t() = default;
};
inline constexpr no_retry_t no_retry{};

/// Python's multiprocessing.Pool with a supervisor behind it: worker
/// processes run PROCTOR_TASK functions; one that crashes is replaced, its
/// tasks are dispatched again (up to max_retries), and no crash hangs the
/// pool or loses a task. Every result is delivered exactly once.
///
/// Destroying the pool terminates it, as leaving Python's `with` block does;
/// close() and join() first to let everything submitted finish. A pool must
/// not outlive its runtime. Callbacks run on the pool's callback thread: inside
/// one, never wait on this pool (get(), join(), stats()) nor destroy it.
class pool {
public:
  explicit pool(runtime& rt, pool_options options = {});
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  /// Runs fn(args...) in a worker and waits for its result.
  template <class R, class... Ps, class... Ts>
  R apply(R (*fn)(Ps...), Ts&&... args) {
    return apply_async(fn, std::forward<Ts>(args)...).get();
  }

  template <class R, class... Ps, class... Ts>
  async_result<R> apply_async(R (*fn)(Ps...), Ts&&... args) {
    auto state = std::make_shared<internal::result_state>(std::vector<std::size_t>{1});
    submit_one(state, false, fn, std::forward<Ts>(args)...);
    return {state, &internal::decode_single<R>};
  }

  /// apply, run at most once (see no_retry).
  template <class R, class... Ps, class... Ts>
  R apply(no_retry_t, R (*fn)(Ps...), Ts&&... args) {
    return apply_async(no_retry, fn, std::forward<Ts>(args)...).get();
  }

  /// apply_async, run at most once (see no_retry).
  template <class R, class... Ps, class... Ts>
  async_result<R> apply_async(no_retry_t, R (*fn)(Ps...), Ts&&... args) {
    auto state = std::make_shared<internal::result_state>(std::vector<std::size_t>{1});
    submit_one(state, true, fn, std::forward<Ts>(args)...);
    return {state, &internal::decode_single<R>};
  }

  /// apply_async whose outcome also goes to `cb` (see callbacks).
  template <class OnResult, class OnError, class R, class... Ps, class... Ts>
  async_result<R> apply_async(callbacks<OnResult, OnError> cb, R (*fn)(Ps...), Ts&&... args) {
    auto state = std::make_shared<internal::result_state>(std::vector<std::size_t>{1});
    state->on_done(notifier(std::move(cb), &internal::decode_single<R>));
    submit_one(state, false, fn, std::forward<Ts>(args)...);
    return {state, &internal::decode_single<R>};
  }

  /// Python's map: fn over every element, `chunksize` elements per task (0:
  /// Python's default); results in order. The first failure is thrown.
  template <class R, class P, class Range>
  std::vector<R> map(R (*fn)(P), Range&& range, std::size_t chunksize = 0) {
    return map_async(fn, std::forward<Range>(range), chunksize).get();
  }

  template <class R, class P, class Range>
  async_result<std::vector<R>> map_async(R (*fn)(P), Range&& range, std::size_t chunksize = 0) {
    return map_async(progress_hook{}, fn, std::forward<Range>(range), chunksize);
  }

  /// As map_async, reporting each finished chunk to `hook`.
  template <class R, class P, class Range>
  async_result<std::vector<R>> map_async(progress_hook hook, R (*fn)(P), Range&& range,
                                         std::size_t chunksize = 0) {
    static_assert(!std::is_void_v<R>, "proctor: map needs a function that returns a value");
    if constexpr (single_pass<Range>)
      return map_async(std::move(hook), fn, materialized(range), chunksize);
    else
      return {submit_chunks(internal::make_chunks<false>(fn, range, chunking(range, chunksize)),
                            std::move(hook.report)),
              &internal::decode_all<R>};
  }

  /// map_async whose outcome also goes to `cb` (see callbacks): on_result
  /// gets the whole vector, on_error the first failure. Over an empty range,
  /// on_result({}) runs before map_async returns.
  template <class OnResult, class OnError, class R, class P, class Range>
  async_result<std::vector<R>> map_async(callbacks<OnResult, OnError> cb, R (*fn)(P),
                                         Range&& range, std::size_t chunksize = 0) {
    static_assert(!std::is_void_v<R>, "proctor: map needs a function that returns a value");
    if constexpr (single_pass<Range>)
      return map_async(std::move(cb), fn, materialized(range), chunksize);
    else
      return {submit_chunks(internal::make_chunks<false>(fn, range, chunking(range, chunksize)),
                            {}, notifier(std::move(cb), &internal::decode_all<R>)),
              &internal::decode_all<R>};
  }

  /// As map, each element a tuple of fn's arguments.
  template <class R, class... Ps, class Range>
  std::vector<R> starmap(R (*fn)(Ps...), Range&& range, std::size_t chunksize = 0) {
    return starmap_async(fn, std::forward<Range>(range), chunksize).get();
  }

  template <class R, class... Ps, class Range>
  async_result<std::vector<R>> starmap_async(R (*fn)(Ps...), Range&& range,
                                             std::size_t chunksize = 0) {
    return starmap_async(progress_hook{}, fn, std::forward<Range>(range), chunksize);
  }

  /// As starmap_async, reporting each finished chunk to `hook`.
  template <class R, class... Ps, class Range>
  async_result<std::vector<R>> starmap_async(progress_hook hook, R (*fn)(Ps...), Range&& range,
                                             std::size_t chunksize = 0) {
    static_assert(!std::is_void_v<R>, "proctor: starmap needs a function that returns a value");
    if constexpr (single_pass<Range>)
      return starmap_async(std::move(hook), fn, materialized(range), chunksize);
    else
      return {submit_chunks(internal::make_chunks<true>(fn, range, chunking(range, chunksize)),
                            std::move(hook.report)),
              &internal::decode_all<R>};
  }

  /// starmap_async whose outcome also goes to `cb` (see map_async).
  template <class OnResult, class OnError, class R, class... Ps, class Range>
  async_result<std::vector<R>> starmap_async(callbacks<OnResult, OnError> cb, R (*fn)(Ps...),
                                             Range&& range, std::size_t chunksize = 0) {
    static_assert(!std::is_void_v<R>, "proctor: starmap needs a function that returns a value");
    if constexpr (single_pass<Range>)
      return starmap_async(std::move(cb), fn, materialized(range), chunksize);
    else
      return {submit_chunks(internal::make_chunks<true>(fn, range, chunking(range, chunksize)),
                            {}, notifier(std::move(cb), &internal::decode_all<R>)),
              &internal::decode_all<R>};
  }

  /// Lazy map: results in order, each available as soon as it (and those
  /// before it) arrived. chunksize 1 as in Python. If reading `range`
  /// throws, the elements before it still run, and the exception is thrown
  /// by the next() after their results, as Python's imap raises it.
  template <class R, class P, class Range>
  imap_result<R> imap(R (*fn)(P), Range&& range, std::size_t chunksize = 1) {
    return lazy_map<true>(fn, range, chunksize);
  }

  /// Lazy map: results in the order they arrive (a failure of `range`
  /// comes last, as in imap).
  template <class R, class P, class Range>
  imap_result<R> imap_unordered(R (*fn)(P), Range&& range, std::size_t chunksize = 1) {
    return lazy_map<false>(fn, range, chunksize);
  }

  /// No more submissions (errc::invalid_state); what is submitted finishes.
  void close();

  /// Waits until every task is done and the workers have ended; close() or
  /// terminate() first, else errc::invalid_state.
  void join();
  /// As join(); false if not over within `timeout`.
  bool join(std::chrono::steady_clock::duration timeout);

  /// Kills the workers at once; unfinished results fail with pool_terminated.
  void terminate();

  pool_stats stats() const;

  /// Worker processes the pool keeps running.
  std::size_t processes() const noexcept {
    return processes_;
  }

private:
  friend class internal::jobs_core; // submits tasks that it decoded from its store

  template <class R, class... Ps, class... Ts>
  void submit_one(const std::shared_ptr<internal::result_state>& state, bool no_retry,
                  R (*fn)(Ps...), Ts&&... args) {
    auto bound = internal::bind_task<internal::offer_collector::until_done>(
      fn, std::forward<Ts>(args)...);
    std::vector<internal::chunk> one;
    one.push_back({bound.entry, 1, std::move(bound.args), std::move(bound.offers), no_retry,
                   std::move(bound.segments)});
    submit(state, std::move(one));
  }

  template <bool Ordered, class R, class P, class Range>
  imap_result<R> lazy_map(R (*fn)(P), Range& range, std::size_t chunksize) {
    std::exception_ptr range_failure;
    auto chunks = internal::make_chunks<false>(fn, range, std::max<std::size_t>(chunksize, 1),
                                               &range_failure);
    return {submit_chunks(std::move(chunks)), Ordered, std::move(range_failure)};
  }

  /// A single-pass range without a size, read once into a vector (counting
  /// it for the default chunksize would consume it).
  template <class Range>
  static constexpr bool single_pass
    = !std::ranges::forward_range<Range> && !std::ranges::sized_range<Range>;

  template <class Range>
  static auto materialized(Range&& range) {
    std::vector<std::ranges::range_value_t<Range>> items;
    for (auto&& x : range)
      items.push_back(x);
    return items;
  }

  template <class Range>
  std::size_t chunking(Range& range, std::size_t chunksize) {
    return chunksize != 0 ? chunksize
                          : internal::default_chunksize(internal::size_of(range), processes_);
  }

  std::shared_ptr<internal::result_state>
  submit_chunks(std::vector<internal::chunk> chunks,
                std::function<void(std::size_t, std::size_t)> on_progress = {},
                std::function<void(const internal::result_state&)> on_done = {});
  void submit(const std::shared_ptr<internal::result_state>& state,
              std::vector<internal::chunk> chunks);

  /// The on_done hook that hands the result, as `decode` gives it, to `cb`.
  template <class T, class Callbacks>
  static std::function<void(const internal::result_state&)>
  notifier(Callbacks cb, T (*decode)(const internal::result_state&)) {
    return [cb = std::move(cb), decode](const internal::result_state& s) mutable {
      deliver(cb, [&] { return decode(s); });
    };
  }

  /// Decodes the outcome for `cb`; only decoding's errors go to on_error.
  template <class Callbacks, class Decode>
  static void deliver(Callbacks& cb, Decode decode) {
    using value = decltype(decode());
    if constexpr (std::is_void_v<value>) {
      try {
        decode();
      } catch (const error& e) {
        cb.on_error(e);
        return;
      }
      cb.on_result();
    } else {
      std::optional<value> v;
      try {
        v.emplace(decode());
      } catch (const error& e) {
        cb.on_error(e);
        return;
      }
      cb.on_result(std::move(*v));
    }
  }

  std::size_t processes_;
  std::shared_ptr<internal::pool_core> core_;
};

} // namespace proctor
