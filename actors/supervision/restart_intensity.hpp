#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace proctor::internal {

/// Erlang's restart intensity: a supervisor may restart children at most
/// `max_restarts` times within any `period`; one restart more and it gives
/// up instead of restarting in a loop.
class restart_intensity {
public:
  using clock = std::chrono::steady_clock;

  restart_intensity(std::size_t max_restarts, clock::duration period)
    : max_restarts_(max_restarts), period_(period) {
  }

  /// Records a restart at `now`; false if it is one too many.
  bool allow(clock::time_point now) {
    while (!recent_.empty() && now - recent_.front() > period_)
      recent_.pop_front();
    recent_.push_back(now);
    ++total_;
    return recent_.size() <= max_restarts_;
  }

  /// Restarts recorded so far.
  std::size_t total() const noexcept {
    return total_;
  }

private:
  std::size_t max_restarts_;
  clock::duration period_;
  std::deque<clock::time_point> recent_;
  std::size_t total_ = 0;
};

} // namespace proctor::internal
