#pragma once

#include <string>
#include <system_error>
#include <vector>

#include <sys/types.h>

#include "runtime/process/spawn.hpp"

namespace proctor::internal {

/// Python's "forkserver" start method, minus its weak spot. A single-threaded
/// copy of this binary, started once by re-executing it, forks every further
/// worker: the dynamic linker, static initialisation and page faults are paid
/// once instead of per process. Workers are forked with CLONE_PARENT, so they
/// are the master's own children: reaped through a pidfd, signalled, and
/// killed by PDEATHSIG with the master exactly as re-executed workers are.
///
/// Each request hands over, with SCM_RIGHTS, the worker's end of its link
/// and the master's current stdin, stdout and stderr, plus its working
/// directory, so a worker sees what a freshly spawned one would. The
/// environment is the master's at the time the server started.
///
/// Master side; calls are made from the runtime's io thread only.
class forkserver {
public:
  forkserver(std::vector<std::string> argv, std::string authkey);

  forkserver(const forkserver&) = delete;
  forkserver& operator=(const forkserver&) = delete;

  /// Closes the server's socket (it exits on EOF) and reaps it.
  ~forkserver();

  /// Starts a worker through the server, starting the server first if needed.
  /// A server that died or stopped answering is replaced once.
  std::error_code spawn(spawned_worker& out, std::string& detail);

  /// Starts the server if it is not running yet.
  std::error_code start(std::string& detail);

private:
  std::error_code request(spawned_worker& out, std::string& detail);
  void stop();

  std::vector<std::string> argv_;
  std::string authkey_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int control_ = -1;
};

/// The server's process name (/proc/PID/comm), which its workers do not keep.
inline constexpr const char* forkserver_process_name = "proctor-fork";

/// Server side: serves fork requests on `control_fd` until the master closes
/// it, then exits the process. Returns only in a forked worker, with the fd
/// of its link to the master.
int serve_forks(int control_fd, pid_t master);

} // namespace proctor::internal
