#pragma once

#include <chrono>
#include <thread>

namespace proctor::testing {

/// Polls `pred` every 10 ms until it holds; false if it still does not
/// after `limit`. For what another process or thread makes true at a time
/// of its own (a name dropped, a process reaped), never for timing.
bool eventually(auto&& pred, std::chrono::milliseconds limit = std::chrono::seconds{30}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

} // namespace proctor::testing
