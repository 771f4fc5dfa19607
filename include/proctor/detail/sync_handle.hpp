#pragma once

// The internals behind sync.hpp that its templates need; not API.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "proctor/errc.hpp"

namespace proctor {

class runtime;

namespace internal {

class sync_client;

/// A flag that any thread of a handle may set and read; copies of the
/// handle take its value.
class relaxed_flag {
public:
  relaxed_flag() = default;
  relaxed_flag(const relaxed_flag& other) noexcept : value_(other.load()) {
  }
  relaxed_flag& operator=(const relaxed_flag& other) noexcept {
    store(other.load());
    return *this;
  }
  bool load() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }
  void store(bool x) noexcept {
    value_.store(x, std::memory_order_relaxed);
  }

private:
  std::atomic<bool> value_{false};
};

/// What every lock, semaphore and event handle shares: the handle of its
/// actor (a value that crosses processes) and this process's client for it.
class sync_base {
public:
  friend bool operator==(const sync_base& x, const sync_base& y) noexcept {
    return x.handle_ == y.handle_;
  }

protected:
  enum class kind : std::uint8_t { lock, rlock, semaphore, bounded_semaphore, event };

  sync_base() = default;
  sync_base(runtime& rt, kind k, std::int64_t permits);
  /// Owns `actor`, spawned by a derived class (a condition, a barrier).
  sync_base(runtime& rt, caf::actor actor);

  bool acquire_impl(bool blocking, std::optional<std::chrono::milliseconds> timeout);
  void release_impl();
  std::int64_t value_impl() const;
  void set_impl();
  void clear_impl();
  bool is_set_impl() const;
  bool wait_impl(std::optional<std::chrono::milliseconds> timeout);

  /// This process's sessions with the actor.
  sync_client& client() const;

  caf::actor handle_;
  relaxed_flag previous_holder_died_;

private:

  mutable std::shared_ptr<sync_client> client_;
};

/// What locks and semaphores share: Python's acquire and release (and its
/// `with`), as C++'s Lockable (std::lock_guard, std::unique_lock).
class acquirable : public sync_base {
public:
  /// Python's acquire(blocking, timeout): true once held.
  bool acquire(bool blocking = true,
               std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    return acquire_impl(blocking, timeout);
  }

  /// Throws proctor::error(invalid_state) if it is not held (by this
  /// thread, for an rlock).
  void release() {
    release_impl();
  }

  /// Whether the holder before the last successful acquire died holding it.
  bool previous_holder_died() const noexcept {
    return previous_holder_died_.load();
  }

  void lock() {
    acquire();
  }
  bool try_lock() {
    return acquire(false);
  }
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    return acquire(true, std::chrono::ceil<std::chrono::milliseconds>(d));
  }
  void unlock() {
    release();
  }

protected:
  using sync_base::sync_base;
  acquirable() = default;
};

} // namespace internal

} // namespace proctor
