#pragma once

#include <cstdint>
#include <functional>

namespace proctor::internal {

/// A number for the calling thread, unique in this process for as long as
/// it runs: unlike std::thread::id, never given to a later thread.
std::uint64_t thread_serial() noexcept;

/// Runs `hook` on the calling thread when it ends (hooks in the order
/// registered). A hook must not throw.
void at_thread_exit(std::function<void()> hook);

} // namespace proctor::internal
