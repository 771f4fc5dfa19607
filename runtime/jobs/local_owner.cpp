#include "runtime/jobs/local_owner.hpp"

#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "runtime/pipe/pipe_broker.hpp"

namespace proctor::internal {

namespace {

/// This process's pid namespace, as its inode: a pid means the same process
/// only within one.
std::string pid_namespace() {
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0)
    return "?";
  return std::to_string(static_cast<unsigned long long>(st.st_ino));
}

/// What /proc/PID/stat says of the process, if it can be read.
struct stat_line {
  bool ended = false;     ///< a zombie, whoever has not reaped it yet
  std::string started;    ///< field 22: clock ticks since boot
};

std::optional<stat_line> read_stat(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  if (!in)
    return std::nullopt;
  // Read whole: the command name (field 2) may hold spaces, parentheses
  // and newlines; the fields after it start behind the last ')'.
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream rest{text.substr(close + 1)};
  std::string state, field;
  if (!(rest >> state))
    return std::nullopt;
  for (int i = 4; i <= 22; ++i)
    if (!(rest >> field))
      return std::nullopt;
  return stat_line{state == "Z" || state == "X", field};
}

} // namespace

std::string local_owner() {
  auto pid = ::getpid();
  auto self = read_stat(pid);
  return host_identity() + "/" + pid_namespace() + "/" + std::to_string(pid) + "/"
         + (self ? self->started : "?");
}

bool local_owner_alive(std::string_view owner) {
  // host/pidns/pid/start
  std::string_view parts[4];
  std::size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    auto slash = owner.find('/', at);
    if (slash == std::string_view::npos)
      return false;
    parts[i] = owner.substr(at, slash - at);
    at = slash + 1;
  }
  parts[3] = owner.substr(at);
  if (parts[0] != host_identity())
    return false; // another boot: every process of it has ended
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), pid);
  if (ec != std::errc{} || end != parts[2].data() + parts[2].size() || pid <= 0)
    return false;
  // Another pid namespace (a container on this host): this one cannot tell,
  // and a master that cannot tell leaves the jobs alone.
  if (parts[1] != pid_namespace())
    return true;
  if (auto seen = read_stat(pid))
    return !seen->ended && (parts[3] == "?" || seen->started == parts[3]);
  // /proc hides it (hidepid), or it has ended: only a signal can tell.
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

} // namespace proctor::internal
