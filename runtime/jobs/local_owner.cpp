#include "runtime/jobs/local_owner.hpp"

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include <sys/types.h>
#include <unistd.h>

#include "runtime/pipe/pipe_broker.hpp"

namespace proctor::internal {

namespace {

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks
/// since boot. Nothing if it has ended.
std::optional<std::string> start_time(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(in, line))
    return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: the
  // fields after it start behind the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream rest{line.substr(close + 1)};
  std::string field;
  for (int i = 3; i <= 22; ++i)
    if (!(rest >> field))
      return std::nullopt;
  // A zombie has ended, whoever has not reaped it yet.
  auto state = line.size() > close + 2 ? line[close + 2] : '?';
  if (state == 'Z' || state == 'X')
    return std::nullopt;
  return field;
}

} // namespace

std::string local_owner() {
  auto pid = ::getpid();
  return host_identity() + "/" + std::to_string(pid) + "/" + start_time(pid).value_or("?");
}

bool local_owner_alive(std::string_view owner) {
  auto first = owner.find('/');
  auto second = owner.find('/', first == std::string_view::npos ? first : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos
      || owner.substr(0, first) != host_identity())
    return false;
  auto pid_text = owner.substr(first + 1, second - first - 1);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
  if (ec != std::errc{} || end != pid_text.data() + pid_text.size() || pid <= 0)
    return false;
  auto started = start_time(pid);
  return started && *started == owner.substr(second + 1);
}

} // namespace proctor::internal
