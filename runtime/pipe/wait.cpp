// proctor::wait: one poll() over pipe ends, process sentinels and
// descriptors, after a look at what pipe ends already hold.
#include "proctor/wait.hpp"

#include <cerrno>
#include <cstring>

#include <poll.h>

#include "runtime/pipe/pipe_socket.hpp"

namespace proctor {

std::vector<std::size_t> wait(const std::vector<waitable>& objects,
                              std::optional<std::chrono::milliseconds> timeout) {
  using clock = std::chrono::steady_clock;
  std::optional<clock::time_point> deadline;
  if (timeout)
    deadline = clock::now() + *timeout;
  std::vector<pollfd> fds(objects.size());
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    int fd = objects[i].fd_;
    if (objects[i].end_ && objects[i].end_->ready_or_descriptor(fd))
      ready.push_back(i);
    fds[i] = {fd, POLLIN, 0};
  }
  if (!ready.empty())
    return ready;
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
      wait_ms = static_cast<int>(std::max<std::int64_t>(left.count(), 0));
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw error(errc::invalid_state, std::string{"proctor: wait: "} + std::strerror(errno));
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents != 0)
        ready.push_back(i); // readable, hung up or failed: recv() will not block
    return ready;
  }
}

} // namespace proctor
