#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace proctor::internal {

/// A task's timeout on the io thread's timers. Dropping or re-arming it
/// cancels the wait at once (the result came, the task left its worker or
/// the pool), so no timer outlives its task. Thread-safe to drop: the
/// cancel runs on the io thread, which owns the timer.
class task_timer {
public:
  task_timer() = default;

  /// Calls `expired` on the io thread after `after`, unless dropped first.
  task_timer(boost::asio::io_context& io, std::chrono::milliseconds after,
             std::function<void()> expired);

  task_timer(task_timer&& other) noexcept = default;
  task_timer& operator=(task_timer&& other) noexcept;
  ~task_timer();

  void cancel();

  /// Timers armed whose wait has not ended yet, in this process.
  static std::size_t live() noexcept;

private:
  std::shared_ptr<boost::asio::steady_timer> timer_;
};

} // namespace proctor::internal
