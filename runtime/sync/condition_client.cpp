// A process's side of a condition: its lock is an ordinary lock handle; the
// waiters live in the condition's actor.
#include "proctor/condition.hpp"

#include <exception>

#include "actors/sync/condition_actor.hpp"
#include "proctor/runtime.hpp"
#include "runtime/sync/sync_client.hpp"

namespace proctor {

process_condition::process_condition(runtime& rt)
  : sync_base(rt, internal::spawn_condition(rt.system())), reentrant_(true), rlock_(rt) {
}

process_condition::process_condition(runtime& rt, process_lock lock)
  : sync_base(rt, internal::spawn_condition(rt.system())),
    reentrant_(false),
    lock_(std::move(lock)) {
}

process_condition::process_condition(runtime& rt, process_rlock lock)
  : sync_base(rt, internal::spawn_condition(rt.system())),
    reentrant_(true),
    rlock_(std::move(lock)) {
}

bool process_condition::acquire(bool blocking, std::optional<std::chrono::milliseconds> timeout) {
  return reentrant_ ? rlock_.acquire(blocking, timeout) : lock_.acquire(blocking, timeout);
}

void process_condition::release() {
  if (reentrant_)
    rlock_.release();
  else
    lock_.release();
}

std::size_t process_condition::release_all() {
  static constexpr const char* not_held = "proctor: cannot wait on an un-acquired lock";
  if (!reentrant_) {
    if (!lock_.locked())
      throw error(errc::invalid_state, not_held);
    lock_.release();
    return 1;
  }
  std::size_t depth = 0;
  for (;;) {
    try {
      rlock_.release();
      ++depth;
    } catch (const error& e) {
      if (e.code() != errc::invalid_state)
        throw;
      break; // released as often as this thread held it
    }
  }
  if (depth == 0)
    throw error(errc::invalid_state, not_held);
  return depth;
}

void process_condition::acquire_again(std::size_t depth) {
  for (std::size_t i = 0; i < depth; ++i)
    acquire();
}

bool process_condition::wait(std::optional<std::chrono::milliseconds> timeout) {
  auto& c = client().mine();
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> guard{c.mtx};
    // Counted as a waiter before the lock goes: a notify from the next
    // holder finds it.
    id = c.ask<std::uint64_t>(internal::enter_atom::value);
  }
  std::size_t depth;
  try {
    depth = release_all();
  } catch (...) {
    std::lock_guard<std::mutex> guard{c.mtx};
    c.self->send(c.target, internal::leave_atom::value, id);
    throw;
  }
  bool notified = false;
  std::exception_ptr failure;
  try {
    std::lock_guard<std::mutex> guard{c.mtx};
    auto wire = timeout ? std::max<std::int64_t>(timeout->count(), 0) : std::int64_t{-1};
    notified = c.ask<bool>(internal::await_atom::value, id, wire);
  } catch (...) {
    failure = std::current_exception();
  }
  acquire_again(depth); // as Python: the lock is held again, whatever happened
  if (failure)
    std::rethrow_exception(failure);
  return notified;
}

std::uint64_t process_condition::notify_impl(std::int64_t n) {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<std::uint64_t>(internal::notify_atom::value, n);
}

void process_condition::notify(std::size_t n) {
  if (n > 0)
    notify_impl(static_cast<std::int64_t>(n));
}

void process_condition::notify_all() {
  notify_impl(-1);
}

} // namespace proctor
