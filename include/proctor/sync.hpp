#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "proctor/errc.hpp"
#include "proctor/detail/sync_handle.hpp"

namespace proctor {

class runtime;

/// Python's multiprocessing.Lock across processes; also a C++ Lockable
/// (std::lock_guard, std::unique_lock). Waiters get it in arrival order. If
/// the holder's process dies, the lock is released and the next acquirer
/// can tell through previous_holder_died(). Any thread or process may
/// release it, as in Python. Handles are values: pass them to processes.
class process_lock : public internal::acquirable {
public:
  explicit process_lock(runtime& rt) : acquirable(rt, kind::lock, 1) {
  }
  /// An invalid handle, to be assigned or deserialized into.
  process_lock() = default;

  /// Whether some thread of some process holds it now (a snapshot).
  bool locked() const {
    return value_impl() == 0;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, process_lock& x) {
    return f(caf::meta::type_name("proctor::lock"), x.handle_);
  }
};

/// Python's RLock: re-entrant, owned by one thread of one process, released
/// only by its owner as many times as acquired.
class process_rlock : public internal::acquirable {
public:
  explicit process_rlock(runtime& rt) : acquirable(rt, kind::rlock, 1) {
  }
  /// An invalid handle, to be assigned or deserialized into.
  process_rlock() = default;

  /// Whether some thread of some process holds it now (a snapshot).
  bool locked() const {
    return value_impl() == 0;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, process_rlock& x) {
    return f(caf::meta::type_name("proctor::rlock"), x.handle_);
  }
};

/// Python's Semaphore (and, with `bounded`, BoundedSemaphore, whose
/// release above the initial value is an error). Permits held by a process
/// that dies come back. Also a C++ Lockable: std::lock_guard takes a permit.
class process_semaphore : public internal::acquirable {
public:
  explicit process_semaphore(runtime& rt, std::int64_t value = 1, bool bounded = false)
    : acquirable(rt, bounded ? kind::bounded_semaphore : kind::semaphore, value) {
  }
  process_semaphore() = default;
  /// The free permits now (approximate, as in Python's get_value()).
  std::int64_t get_value() const {
    return value_impl();
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, process_semaphore& x) {
    return f(caf::meta::type_name("proctor::semaphore"), x.handle_);
  }
};

/// Python's BoundedSemaphore.
class process_bounded_semaphore : public process_semaphore {
public:
  explicit process_bounded_semaphore(runtime& rt, std::int64_t value = 1)
    : process_semaphore(rt, value, true) {
  }
  process_bounded_semaphore() = default;
};

/// Python's Event.
class process_event : public internal::sync_base {
public:
  explicit process_event(runtime& rt) : sync_base(rt, kind::event, 0) {
  }
  process_event() = default;

  void set() {
    set_impl();
  }
  void clear() {
    clear_impl();
  }
  bool is_set() const {
    return is_set_impl();
  }
  /// true once set; false if `timeout` passed first.
  bool wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    return wait_impl(timeout);
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, process_event& x) {
    return f(caf::meta::type_name("proctor::event"), x.handle_);
  }
};

// Python's names. (The classes cannot be called `lock`: a Lockable needs a
// member function of that name.)
using lock = process_lock;
using rlock = process_rlock;
using semaphore = process_semaphore;
using bounded_semaphore = process_bounded_semaphore;
using event = process_event;

} // namespace proctor
