#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "proctor/supervisor.hpp"

namespace proctor::internal {

class runtime_impl;
struct worker_process;
class event_hub;

/// Set once when an incarnation of a child ends, from whatever thread
/// ends it; waited for by the supervisor that stops it.
class end_latch {
public:
  void set(const caf::error& reason);
  /// Whether it was set within `timeout` (milliseconds::max(): no limit).
  bool wait(std::chrono::milliseconds timeout);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool set_ = false;
};

/// One incarnation of a child: its actor, and for a child in a worker
/// process that process, which a kill signals.
struct started_child {
  caf::actor actor;
  std::shared_ptr<worker_process> process;
  int pid = 0;
  std::shared_ptr<end_latch> ended;
  std::chrono::steady_clock::time_point since;

  explicit operator bool() const noexcept {
    return static_cast<bool>(actor);
  }
};

struct child_process;

/// Starts an incarnation of `spec` where it is placed: an actor here, a
/// worker process here (in `standby`, an idle worker started before, if
/// given; it is taken) or on a node, or a supervisor below `path` (which
/// reports to `events`). Blocks (a process start, a supervisor's children);
/// never call it on the io thread or a CAF scheduler thread. The error is
/// proctor's start_failed with the cause.
caf::expected<started_child> start_incarnation(runtime_impl& rt, const child_spec& spec,
                                               const std::string& path,
                                               const std::shared_ptr<event_hub>& events,
                                               std::shared_ptr<child_process>& standby);

/// Starts an idle worker process for a later start_incarnation. Blocks.
std::shared_ptr<child_process> start_standby(runtime_impl& rt, const std::string& path);

/// Stops `child` as `policy` says: asked to stop (exit reason
/// user_shutdown), killed if it has not ended within the timeout (at once
/// for brutal_kill). Blocks until it has ended.
void stop_incarnation(started_child& child, shutdown_policy policy);

/// Kills `child` without waiting (a supervisor that ends abnormally).
void kill_incarnation(started_child& child);

/// The shutdown time of `spec`: its own, else OTP's default for its type.
shutdown_policy shutdown_of(const child_spec& spec);

} // namespace proctor::internal
