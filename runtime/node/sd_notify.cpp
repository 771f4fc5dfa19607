// The sd_notify protocol without libsystemd: a datagram to the unix socket
// named by $NOTIFY_SOCKET (a leading '@' names an abstract socket).
#include "runtime/node/sd_notify.hpp"

#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport/base/scoped_fd.hpp"

namespace proctor::internal {

bool sd_notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  return sd_notify_to(path == nullptr ? std::string{} : std::string{path}, state);
}

bool sd_notify_to(const std::string& path, const std::string& state) {
  if (path.empty())
    return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto length = path.size();
  if (length >= sizeof addr.sun_path)
    return false;
  std::memcpy(addr.sun_path, path.data(), length);
  if (addr.sun_path[0] == '@')
    addr.sun_path[0] = '\0';
  scoped_fd fd{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (fd.get() < 0)
    return false;
  auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  return ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&addr), size)
         == static_cast<ssize_t>(state.size());
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr)
    return std::nullopt;
  auto value = std::strtoll(usec, nullptr, 10);
  if (value <= 0)
    return std::nullopt;
  // WATCHDOG_PID, if set, names the process the watchdog is for.
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr && std::atoi(pid) != ::getpid())
    return std::nullopt;
  return std::chrono::microseconds{value / 2};
}

} // namespace proctor::internal
