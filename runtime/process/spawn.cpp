#include "runtime/process/spawn.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "transport/base/c_strings.hpp"
#include "transport/base/scoped_fd.hpp"

extern char** environ;

namespace proctor::internal {

namespace {

// The fd numbers a worker finds its link and key on.
constexpr int child_link_fd = 3;
constexpr int child_key_fd = 4;

/// Moves `fd` above the fixed child fds so dup2 onto them cannot clobber it.
int lift(int fd) {
  if (fd > child_key_fd)
    return fd;
  int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return lifted;
}

} // namespace

int open_pidfd(pid_t pid) noexcept {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0)
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int pidfd_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

std::string exit_status::to_string() const {
  if (signaled) {
    const char* name = ::sigabbrev_np(value);
    return std::string{"killed by signal "} + std::to_string(value)
           + (name ? std::string{" (SIG"} + name + ")" : std::string{});
  }
  return "exited with code " + std::to_string(value);
}

std::error_code spawn_process(spawn_role role, const std::vector<std::string>& argv,
                              const std::string& authkey, spawned_worker& out,
                              std::string& detail) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    detail = std::string{"socketpair: "} + std::strerror(errno);
    return errc::spawn_failed;
  }
  scoped_fd parent_end{sv[0]};
  scoped_fd child_end{lift(sv[1])};
  int key_pipe[2];
  if (::pipe2(key_pipe, O_CLOEXEC) != 0) {
    detail = std::string{"pipe: "} + std::strerror(errno);
    return errc::spawn_failed;
  }
  scoped_fd key_read{lift(key_pipe[0])};
  scoped_fd key_write{key_pipe[1]};
  // A pipe buffer holds 64 KiB, so this never blocks for a sane key.
  if (authkey.size() > 4096
      || ::write(key_write.get(), authkey.data(), authkey.size())
           != static_cast<ssize_t>(authkey.size())) {
    detail = "cannot hand the authkey to the worker";
    return errc::spawn_failed;
  }
  key_write.reset();

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "PROCTOR_ROLE=", 13) != 0)
      env_storage.emplace_back(*e);
  if (role == spawn_role::worker) {
    env_storage.push_back(std::string{role_env} + "=worker");
  } else {
    env_storage.push_back(std::string{role_env} + "=forkserver");
    // Resolve every symbol once in the server, not in each forked worker.
    if (std::getenv("LD_BIND_NOW") == nullptr) {
      env_storage.emplace_back("LD_BIND_NOW=1");
      env_storage.push_back(std::string{unset_bind_now_env} + "=1");
    }
  }
  env_storage.push_back(std::string{parent_pid_env} + "=" + std::to_string(::getpid()));
  env_storage.push_back(std::string{link_fd_env} + "=" + std::to_string(child_link_fd));
  env_storage.push_back(std::string{key_fd_env} + "=" + std::to_string(child_key_fd));
  auto envp = c_strings(env_storage);
  std::vector<std::string> args = argv.empty() ? std::vector<std::string>{"proctor-worker"}
                                               : argv;
  auto argvp = c_strings(args);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the target, so only these two are inherited.
  posix_spawn_file_actions_adddup2(&actions, child_end.get(), child_link_fd);
  posix_spawn_file_actions_adddup2(&actions, key_read.get(), child_key_fd);
  // Descriptors the host application opened without close-on-exec (Asio's
  // sockets, for one) must not leak into the worker: a leaked connection
  // would never see its end when the application closes it.
  posix_spawn_file_actions_addclosefrom_np(&actions, child_key_fd + 1);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argvp.data(),
                         envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    detail = std::string{"posix_spawn: "} + std::strerror(rc);
    return errc::spawn_failed;
  }
  int pidfd = open_pidfd(pid);
  if (pidfd < 0) {
    detail = std::string{"pidfd_open: "} + std::strerror(errno);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return errc::spawn_failed;
  }
  out.pid = pid;
  out.pidfd = pidfd;
  out.link_fd = parent_end.release();
  return {};
}

bool reap(pid_t pid, exit_status& out) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) != 0
      || info.si_pid == 0)
    return false;
  if (info.si_code == CLD_EXITED) {
    out = {false, info.si_status};
  } else {
    out = {true, info.si_status};
  }
  return true;
}

} // namespace proctor::internal
