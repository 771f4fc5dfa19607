#pragma once

#include <functional>
#include <string_view>

namespace proctor {

/// How much proctor says: errors only, and up to debugging detail.
enum class log_level { error = 0, warning = 1, info = 2, debug = 3 };

/// Receives each line proctor logs: its level, the component that wrote it
/// ("transport", "actors", "runtime", "process", "pool", "pipe",
/// "supervisor") and the
/// message, without a trailing newline.
///
/// Runs on whichever thread logs, the io thread among them, and may run on
/// several threads at once: it must be thread-safe, return quickly and never
/// call into proctor. An exception it throws is dropped.
using log_handler =
  std::function<void(log_level level, std::string_view component, std::string_view message)>;

/// Routes proctor's log lines to `handler`, so that an application writes
/// them through its own logger; an empty handler restores the default, one
/// line on stderr with a UTC timestamp, the pid, the level and the component.
/// Worker processes run `main` up to the runtime's construction: set the
/// handler before constructing proctor::runtime and workers use it too.
void set_log_handler(log_handler handler);

/// Lines above `level` are dropped before they are formatted. The default is
/// the environment's PROCTOR_LOG (error, warning, info or debug), else warning.
void set_log_level(log_level level) noexcept;
log_level get_log_level() noexcept;

} // namespace proctor
