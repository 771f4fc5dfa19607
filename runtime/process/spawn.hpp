#pragma once

#include <string>
#include <sys/types.h>
#include <system_error>
#include <vector>

namespace proctor::internal {

/// Environment variables through which a parent hands a worker its role.
/// The worker reads and unsets them before user code runs.
constexpr const char* role_env = "PROCTOR_ROLE";
constexpr const char* parent_pid_env = "PROCTOR_PARENT_PID";
constexpr const char* link_fd_env = "PROCTOR_LINK_FD";
constexpr const char* key_fd_env = "PROCTOR_KEY_FD";
constexpr const char* unset_bind_now_env = "PROCTOR_UNSET_BIND_NOW";

/// A worker process just started, with the parent's end of its link.
struct spawned_worker {
  pid_t pid = -1;
  int pidfd = -1;    ///< for reaping and race-free signals
  int link_fd = -1;  ///< parent's end of a connected Unix stream socket
};

/// What a re-executed child becomes.
enum class spawn_role { worker, forkserver };

/// Re-executes this binary (/proc/self/exe, with `argv`) in `role`. The child
/// inherits one end of a fresh socketpair and a pipe holding `authkey`; every
/// other fd of ours is close-on-exec. posix_spawn is safe to call from a
/// multi-threaded process; an exec failure is reported here, not in the child.
std::error_code spawn_process(spawn_role role, const std::vector<std::string>& argv,
                              const std::string& authkey, spawned_worker& out,
                              std::string& detail);

/// Opens a close-on-exec pidfd for `pid` (-1 with errno on failure).
int open_pidfd(pid_t pid) noexcept;

/// How a process ended (Seastar's wait_exited / wait_signaled as one value).
struct exit_status {
  bool signaled = false;
  int value = 0; ///< exit code, or signal number if signaled

  /// Python's exitcode: the code, or minus the signal number.
  int python_exitcode() const noexcept {
    return signaled ? -value : value;
  }

  std::string to_string() const;
};

/// Sends `sig` through a pidfd: it cannot reach a recycled pid.
int pidfd_signal(int pidfd, int sig) noexcept;

/// Collects the status of an exited child through its pidfd (non-blocking).
/// @returns false if the child has not exited yet.
bool reap(pid_t pid, exit_status& out);

} // namespace proctor::internal
