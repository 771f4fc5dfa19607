#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include <caf/meta/type_name.hpp>

#include "proctor/sync.hpp"

namespace proctor {

/// Python's multiprocessing.Condition across processes: a lock (a fresh
/// rlock, or the lock or rlock given) plus the processes and threads
/// waiting on it. Also a C++ Lockable, so std::unique_lock works, but wait
/// is its own: it takes no std::unique_lock (the lock is this object).
///
/// wait() must be called with the lock held; it releases it (all the way,
/// for an rlock held several times), sleeps until notified or the timeout,
/// and acquires it again before returning. A notify that comes after a
/// waiter started to wait is never lost. A waiter whose process dies is
/// dropped, and the lock's own guarantee applies: a holder's death
/// releases it. Handles are values: pass them to processes.
class process_condition : public internal::sync_base {
public:
  /// A condition with a new rlock, as Python's Condition().
  explicit process_condition(runtime& rt);
  /// A condition on `lock`, which other code may also use directly.
  process_condition(runtime& rt, process_lock lock);
  process_condition(runtime& rt, process_rlock lock);
  /// An invalid handle, to be assigned or deserialized into.
  process_condition() = default;

  bool acquire(bool blocking = true,
               std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  void release();
  void lock() {
    acquire();
  }
  bool try_lock() {
    return acquire(false);
  }
  void unlock() {
    release();
  }

  /// false if `timeout` passed without a notify. errc::invalid_state if the
  /// lock is not held (Python's RuntimeError).
  bool wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// Waits until `predicate()` is true (checked first, and after each
  /// wake-up, with the lock held); returns its last value, false if the
  /// timeout passed first.
  template <class Predicate>
  bool wait_for(Predicate predicate,
                std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> deadline;
    if (timeout)
      deadline = clock::now() + *timeout;
    bool result = predicate();
    while (!result) {
      std::optional<std::chrono::milliseconds> left;
      if (deadline) {
        left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
        if (left->count() <= 0)
          break;
      }
      wait(left);
      result = predicate();
    }
    return result;
  }

  /// Wakes up to `n` waiters (in the order they started waiting).
  void notify(std::size_t n = 1);
  void notify_all();

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, process_condition& x) {
    return f(caf::meta::type_name("proctor::condition"), x.handle_, x.reentrant_, x.rlock_,
             x.lock_);
  }

private:
  /// Releases the lock entirely; how many times it was held.
  std::size_t release_all();
  void acquire_again(std::size_t depth);
  std::uint64_t notify_impl(std::int64_t n);

  bool reentrant_ = true;
  process_rlock rlock_; ///< the lock if reentrant_
  process_lock lock_;   ///< the lock otherwise
};

using condition = process_condition;

} // namespace proctor
