#include "transport/base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

#include <unistd.h>

namespace proctor {

namespace {

log_level level_from_environment() noexcept {
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

std::atomic<log_level>& level_setting() noexcept {
  static std::atomic<log_level> level{level_from_environment()};
  return level;
}

/// The application's handler. Held by shared_ptr so that a line being
/// written keeps the handler it started with while another thread sets a
/// new one; the mutex guards only the pointer, never a call.
struct handler_slot {
  std::mutex mtx;
  std::shared_ptr<const log_handler> handler;
};

handler_slot& slot() {
  static handler_slot instance;
  return instance;
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

void set_log_handler(log_handler handler) {
  auto next = handler ? std::make_shared<const log_handler>(std::move(handler)) : nullptr;
  std::lock_guard<std::mutex> guard{slot().mtx};
  slot().handler = std::move(next);
}

void set_log_level(log_level level) noexcept {
  level_setting().store(level, std::memory_order_relaxed);
}

log_level get_log_level() noexcept {
  return level_setting().load(std::memory_order_relaxed);
}

namespace internal {

std::string format_log_line(log_level level, std::string_view component,
                            std::string_view text) {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                  now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char head[96];
  std::snprintf(head, sizeof head, "%s.%03dZ proctor[%d] %s %.*s: ", stamp,
                static_cast<int>(millis), static_cast<int>(::getpid()), level_name(level),
                static_cast<int>(component.size()), component.data());
  std::string line{head};
  line += text;
  return line;
}

void write_log_line(log_level level, std::string_view component, std::string_view text) {
  std::shared_ptr<const log_handler> handler;
  {
    std::lock_guard<std::mutex> guard{slot().mtx};
    handler = slot().handler;
  }
  if (handler) {
    try {
      (*handler)(level, component, text);
    } catch (...) {
      // A logger must not take proctor down with it.
    }
    return;
  }
  // One fprintf per line keeps lines from several threads whole.
  auto line = format_log_line(level, component, text);
  std::fprintf(stderr, "%s\n", line.c_str());
}

} // namespace internal

} // namespace proctor
