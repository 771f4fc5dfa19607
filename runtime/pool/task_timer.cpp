#include "runtime/pool/task_timer.hpp"

#include <atomic>

#include <boost/asio/post.hpp>

namespace proctor::internal {

namespace {

std::atomic<std::size_t> live_timers{0};

} // namespace

task_timer::task_timer(boost::asio::io_context& io, std::chrono::milliseconds after,
                       std::function<void()> expired)
  : timer_(std::make_shared<boost::asio::steady_timer>(io, after)) {
  live_timers.fetch_add(1, std::memory_order_relaxed);
  timer_->async_wait([keep = timer_, expired = std::move(expired)](auto ec) {
    live_timers.fetch_sub(1, std::memory_order_relaxed);
    if (!ec)
      expired();
  });
}

task_timer& task_timer::operator=(task_timer&& other) noexcept {
  if (this != &other) {
    cancel();
    timer_ = std::move(other.timer_);
  }
  return *this;
}

task_timer::~task_timer() {
  cancel();
}

void task_timer::cancel() {
  if (auto timer = std::move(timer_))
    boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
}

std::size_t task_timer::live() noexcept {
  return live_timers.load(std::memory_order_relaxed);
}

} // namespace proctor::internal
