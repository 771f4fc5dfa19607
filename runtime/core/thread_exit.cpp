#include "runtime/core/thread_exit.hpp"

#include <atomic>
#include <vector>

namespace proctor::internal {

namespace {

std::atomic<std::uint64_t> next_serial{1};

struct exit_hooks {
  std::vector<std::function<void()>> hooks;

  ~exit_hooks() {
    for (auto& hook : hooks)
      hook();
  }
};

thread_local exit_hooks this_thread_hooks;
thread_local const std::uint64_t this_thread_serial = next_serial.fetch_add(1);

} // namespace

std::uint64_t thread_serial() noexcept {
  return this_thread_serial;
}

void at_thread_exit(std::function<void()> hook) {
  this_thread_hooks.hooks.push_back(std::move(hook));
}

} // namespace proctor::internal
