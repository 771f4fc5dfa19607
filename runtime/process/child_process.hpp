#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <sys/types.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "runtime/core/worker_process.hpp"
#include "runtime/process/spawn.hpp"
#include "transport/base/scoped_fd.hpp"

namespace proctor::internal {

class link;

/// A worker process this process started, and how it ended.
struct child_process : worker_process {
  pid_t pid = -1;
  bool daemon = false;
  std::string name; ///< what active_children() reports
  std::shared_ptr<link> channel;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd;

  std::mutex mtx;
  std::condition_variable ended;
  /// Set once reaped and every actor over there is reported down, so that a
  /// join() that returns implies the down messages are out.
  std::optional<exit_status> status;
  std::optional<exit_status> reaped; ///< io thread only
  bool link_closed = false;
  /// Pipe ends among the task's arguments, withdrawn if still unclaimed
  /// when the process has ended. Guarded by mtx (set by the starting
  /// thread, dropped by the io thread).
  std::shared_ptr<void> offers;

  /// A process on a node (proctor::process placed there): signals go
  /// through it; there is no pidfd and no link here.
  std::shared_ptr<worker_process> remote;

  /// Waits until reaped, at most until `deadline` if given.
  bool wait(std::optional<std::chrono::steady_clock::time_point> deadline);

  /// Sends `sig` through the pidfd, which cannot hit a recycled pid, or
  /// through the node of a remote process.
  void signal(int sig) override;

  std::string describe() const override {
    return remote ? remote->describe() : "pid " + std::to_string(pid);
  }

  /// Records how the process ended (once; later calls do nothing): wakes
  /// waiters, makes ended_descriptor() readable and runs when_ended's
  /// callback, on the calling thread.
  void end(const exit_status& how);

  /// Runs `callback` once the process has ended: at once (on the calling
  /// thread) if it has, else on the thread that calls end().
  void when_ended(std::function<void(const exit_status&)> callback);

  /// A new descriptor that becomes readable once the process has ended;
  /// the caller owns it. -1 (errno set) if none can be made.
  int ended_descriptor();

private:
  std::function<void(const exit_status&)> on_end_; ///< guarded by mtx
  scoped_fd ended_event_;                          ///< guarded by mtx
};

} // namespace proctor::internal
