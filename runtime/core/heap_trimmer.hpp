#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace proctor::internal {

/// Gives the heap back to the system once the process has moved a lot of
/// data and then been quiet for a while, so that a process that once
/// carried large batches does not keep them resident. Not at every idle
/// moment: a trim walks every arena, and the next large allocations fault
/// their pages in again (that halved a busy pool's result rate).
///
/// Threads: idle() and busy() from any thread; the trim itself runs on the
/// context's thread (the runtime's blocking-work thread, never the I/O
/// thread). `mtx_` guards `moved_`, `armed_`, `idle_epoch_` and the timer. The runtime
/// drops its trimmer before that thread ends; a wait still pending then
/// finds it gone.
class heap_trimmer : public std::enable_shared_from_this<heap_trimmer> {
public:
  /// Bytes moved before a quiet process trims.
  static constexpr std::size_t trim_after_bytes = 1u << 20;
  /// How long the process must stay quiet.
  static constexpr std::chrono::milliseconds quiet_period{250};

  /// Trims with `trim` (malloc_trim(0) unless a test counts).
  explicit heap_trimmer(boost::asio::io_context& ctx, void (*trim)() = trim_heap,
                        std::chrono::milliseconds quiet = quiet_period)
    : timer_(ctx), trim_(trim), quiet_(quiet) {
  }

  /// The caller moved `bytes` through the heap since its last call and is
  /// out of work now: trims after the quiet period, unless busy() comes.
  void idle(std::size_t bytes);

  /// Work came: a trim waiting for quiet waits for the next idle().
  void busy() noexcept {
    epoch_.fetch_add(1, std::memory_order_relaxed);
  }

private:
  static void trim_heap();
  /// Waits for the quiet period from epoch `seen`; `mtx_` held.
  void arm(std::uint64_t seen);

  std::atomic<std::uint64_t> epoch_{0};
  std::mutex mtx_;
  std::size_t moved_ = 0;
  bool armed_ = false;
  std::uint64_t idle_epoch_ = 0; ///< the epoch at the last idle()
  boost::asio::steady_timer timer_;
  void (*trim_)();
  std::chrono::milliseconds quiet_;
};

} // namespace proctor::internal
