#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "proctor/log.hpp"

namespace proctor::internal {

using proctor::log_level;

/// Hands one line to the application's log handler, or writes it to stderr.
void write_log_line(log_level level, std::string_view component, std::string_view text);

/// The default handler's line, without the newline: a UTC timestamp with
/// milliseconds, "proctor[pid]", the level, the component and the text.
std::string format_log_line(log_level level, std::string_view component,
                            std::string_view text);

/// Logs the concatenation of `xs` from `component`, if `level` is enabled.
template <class... Ts>
void log(std::string_view component, log_level level, const Ts&... xs) {
  if (level > get_log_level())
    return;
  std::ostringstream out;
  (out << ... << xs);
  write_log_line(level, component, out.str());
}

} // namespace proctor::internal
