#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

  /// The node (an id from runtime::nodes()) the process runs on; empty:
  /// this host.
  const std::string& node() const noexcept {
    return node_;
  }
  /// Places the process on a node that joined this master. Its exit code,
  /// join(), sentinel(), terminate() and kill() work as on this host; if
  /// the node is lost, the process has ended with -9 (SIGKILL's code), as
  /// the node kills its workers when it loses its master. Pipe ends cannot
  /// be among its arguments (errc::bad_argument at start()).
  process& node(std::string id);

  /// Starts the worker. Throws errc::invalid_state if already started; on a
  /// node, errc::node_down if the node is not alive.
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

  /// 0 before start(). For a process on a node, its pid there.
  int pid() const;

  /// Python's sentinel: a descriptor that becomes readable once the process
  /// has ended (a pidfd), for poll() or proctor::wait(). Owned by this
  /// object. errc::invalid_state before start() or after close().
  int sentinel() const;

  /// Python's close(): lets go of the process's resources. Afterwards every
  /// call but name() and pid() throws errc::invalid_state; so does close()
  /// of a process still running.
  void close();

private:
  process(runtime& rt, internal::bound_task bound);

  void require_started(const char* what) const;
  void require_open() const;

  runtime* rt_;
  const internal::task_entry* task_;
  std::string args_;
  std::shared_ptr<void> offers_;
  std::string name_;
  std::string node_;
  bool daemon_ = false;
  std::shared_ptr<internal::child_process> child_;
  bool closed_ = false;
  int pid_after_close_ = 0;
  mutable int sentinel_ = -1;
};

/// Python's active_children(): the processes this process started on this
/// host (with proctor::process, or as pool workers and actor hosts) that
/// have not ended yet.
std::vector<process_info> active_children();

/// Python's parent_process(): empty in the master; in a worker, the parent's
/// name (empty in pool workers and actor hosts, which are not told it) and
/// pid.
std::optional<process_info> parent_process();

} // namespace proctor
