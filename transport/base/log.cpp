#include "transport/base/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

namespace proctor::internal {

namespace {

log_level read_level() noexcept {
  const char* text = std::getenv("PROCTOR_LOG");
  if (text == nullptr)
    return log_level::warning;
  if (std::strcmp(text, "error") == 0)
    return log_level::error;
  if (std::strcmp(text, "info") == 0)
    return log_level::info;
  if (std::strcmp(text, "debug") == 0)
    return log_level::debug;
  return log_level::warning;
}

const char* level_name(log_level level) noexcept {
  switch (level) {
    case log_level::error: return "error";
    case log_level::warning: return "warning";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
  }
  return "?";
}

} // namespace

log_level current_log_level() noexcept {
  static const log_level level = read_level();
  return level;
}

void write_log_line(log_level level, const std::string& text) {
  // One fprintf per line keeps lines from several threads whole.
  std::fprintf(stderr, "proctor[%d] %s: %s\n", static_cast<int>(::getpid()),
               level_name(level), text.c_str());
}

} // namespace proctor::internal
