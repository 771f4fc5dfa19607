#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace proctor::internal {

/// Tells the service manager that started this process (systemd with
/// Type=notify) about its state, e.g. "READY=1" or "WATCHDOG=1": one
/// datagram to $NOTIFY_SOCKET, as sd_notify(3) sends it. Does nothing
/// without $NOTIFY_SOCKET; false if the datagram could not be sent.
bool sd_notify(const std::string& state);

/// sd_notify to the socket at `path`; does nothing for an empty path.
bool sd_notify_to(const std::string& path, const std::string& state);

/// Half of $WATCHDOG_USEC (how often systemd's watchdog wants to hear from
/// us), if a watchdog is set for this process.
std::optional<std::chrono::microseconds> watchdog_interval();

} // namespace proctor::internal
