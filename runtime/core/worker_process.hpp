#pragma once

#include <string>

namespace proctor::internal {

/// A worker process the pool or a placement started: on this host (a
/// child_process) or on a node (remote_worker). Both calls are safe from
/// any thread, never block, and do nothing once the process has ended.
class worker_process {
public:
  virtual ~worker_process() = default;

  /// Sends `sig` to the process.
  virtual void signal(int sig) = 0;

  /// "pid N", or "pid N on node ID", for messages.
  virtual std::string describe() const = 0;
};

} // namespace proctor::internal
