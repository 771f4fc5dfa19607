#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "proctor/runtime.hpp"
#include "proctor/task.hpp"

namespace proctor {

namespace internal {
struct child_process;
} // namespace internal

/// Python's multiprocessing.Process: runs a PROCTOR_TASK function with
/// arguments in a new worker process.
///
/// Destroying a started process that has not been joined does not orphan
/// it: the runtime keeps it, joins it when the runtime ends (terminating it
/// first if it is a daemon), and the worker dies with the master anyway.
class process {
public:
  /// Binds `target` and its arguments; an unregistered target throws
  /// errc::unregistered_task here, at the call site.
  template <class R, class... Ps, class... Ts>
  process(runtime& rt, R (*target)(Ps...), Ts&&... args)
    : process(rt, internal::bind_task(target, std::forward<Ts>(args)...)) {
  }

  process(process&&) noexcept;
  process& operator=(process&&) = delete;
  ~process();

  /// `Process-N` unless set before start().
  const std::string& name() const noexcept {
    return name_;
  }
  process& name(std::string value);

  bool daemon() const noexcept {
    return daemon_;
  }
  /// A daemon is terminated when its parent's runtime ends.
  process& daemon(bool value);

  /// Starts the worker. Throws errc::invalid_state if already started.
  void start();

  /// Waits until the process ends. Throws errc::invalid_state before start().
  void join();

  /// Waits at most `timeout`; true if the process has ended.
  bool join(std::chrono::steady_clock::duration timeout);

  bool is_alive() const;

  /// SIGTERM. No effect on a process that has ended.
  void terminate();

  /// SIGKILL. No effect on a process that has ended.
  void kill();

  /// Empty while running or before start; the exit code, or minus the signal
  /// number that ended it (-15 after terminate()).
  std::optional<int> exitcode() const;

  /// 0 before start().
  int pid() const;

private:
  process(runtime& rt, internal::bound_task bound);

  void require_started(const char* what) const;

  runtime* rt_;
  const internal::task_entry* task_;
  std::string args_;
  std::shared_ptr<void> offers_;
  std::string name_;
  bool daemon_ = false;
  std::shared_ptr<internal::child_process> child_;
};

} // namespace proctor
