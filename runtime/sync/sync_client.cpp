// A process's side of a lock, semaphore or event: blocking requests to its
// actor. Waiting happens in the actor, which answers at the deadline.
#include "proctor/sync.hpp"

#include <functional>
#include <thread>

#include "actors/sync/sync_actor.hpp"
#include "proctor/runtime.hpp"
#include "runtime/sync/sync_client.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor::internal {

namespace {

std::uint64_t this_thread_token() {
  return thread_serial();
}

std::int64_t wire_timeout(bool blocking, std::optional<std::chrono::milliseconds> t) {
  if (!blocking)
    return 0;
  if (!t)
    return -1;
  return std::max<std::int64_t>(t->count(), 0);
}

} // namespace

sync_base::sync_base(runtime& rt, kind k, std::int64_t permits) {
  auto& sys = rt.system();
  if (k == kind::event) {
    handle_ = spawn_event(sys);
  } else {
    if (permits < 0)
      throw error(errc::bad_argument, "proctor: a semaphore's value must be >= 0");
    handle_ = spawn_sync(sys, static_cast<sync_kind>(k), permits);
  }
  internal::impl_of(rt).own(handle_);
}

sync_base::sync_base(runtime& rt, caf::actor actor) : handle_(std::move(actor)) {
  internal::impl_of(rt).own(handle_);
}

sync_client& sync_base::client() const {
  if (!handle_)
    throw error(errc::invalid_state, "proctor: an invalid lock, semaphore or event handle");
  return lazily_made(client_, handle_);
}

bool sync_base::acquire_impl(bool blocking, std::optional<std::chrono::milliseconds> timeout) {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  bool died = false;
  try {
    died = c.ask<bool>(acquire_atom::value, wire_timeout(blocking, timeout), this_thread_token());
  } catch (const timeout_error&) {
    return false;
  }
  previous_holder_died_.store(died);
  return true;
}

void sync_base::release_impl() {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(release_atom::value, this_thread_token());
}

std::int64_t sync_base::value_impl() const {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<std::int64_t>(value_atom::value);
}

void sync_base::set_impl() {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(set_atom::value);
}

void sync_base::clear_impl() {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(clear_atom::value);
}

bool sync_base::is_set_impl() const {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<bool>(is_set_atom::value);
}

bool sync_base::wait_impl(std::optional<std::chrono::milliseconds> timeout) {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<bool>(wait_atom::value, wire_timeout(true, timeout));
}

} // namespace proctor::internal
