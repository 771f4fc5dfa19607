#pragma once

#include <sstream>
#include <string>

namespace proctor::internal {

/// Levels chosen with PROCTOR_LOG=error|warning|info|debug (default warning).
enum class log_level { error = 0, warning = 1, info = 2, debug = 3 };

log_level current_log_level() noexcept;

/// Writes one line to stderr, prefixed with the level and this process's pid.
void write_log_line(log_level level, const std::string& text);

template <class... Ts>
void log(log_level level, const Ts&... xs) {
  if (level > current_log_level())
    return;
  std::ostringstream out;
  (out << ... << xs);
  write_log_line(level, out.str());
}

} // namespace proctor::internal
