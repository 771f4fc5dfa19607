// A worker process this process started: waiting for its end, signalling
// it, and telling whoever watches that it ended. Threads: any; the io
// thread (or, for a process on a node, the thread that hears of its end)
// calls end(). Lock: the child's own mtx, never held while calling out.
#include "runtime/process/child_process.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>

namespace proctor::internal {

bool child_process::wait(std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock<std::mutex> guard{mtx};
  if (!deadline) {
    ended.wait(guard, [this] { return status.has_value(); });
    return true;
  }
  return ended.wait_until(guard, *deadline, [this] { return status.has_value(); });
}

void child_process::signal(int sig) {
  std::lock_guard<std::mutex> guard{mtx};
  if (status)
    return;
  if (pidfd)
    pidfd_signal(pidfd->native_handle(), sig);
  else if (remote)
    remote->signal(sig);
}

void child_process::end(const exit_status& how) {
  std::function<void(const exit_status&)> callback;
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (status)
      return;
    status = how;
    if (ended_event_)
      ::eventfd_write(ended_event_.get(), 1);
    callback = std::move(on_end_);
  }
  ended.notify_all();
  if (callback)
    callback(how);
}

void child_process::when_ended(std::function<void(const exit_status&)> callback) {
  std::optional<exit_status> how;
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (!status) {
      on_end_ = std::move(callback);
      return;
    }
    how = status;
  }
  callback(*how);
}

int child_process::ended_descriptor() {
  std::lock_guard<std::mutex> guard{mtx};
  if (!ended_event_) {
    ended_event_.reset(::eventfd(status ? 1 : 0, EFD_CLOEXEC));
    if (!ended_event_)
      return -1;
  }
  return ::fcntl(ended_event_.get(), F_DUPFD_CLOEXEC, 0);
}

} // namespace proctor::internal
