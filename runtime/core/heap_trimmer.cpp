#include "runtime/core/heap_trimmer.hpp"

#include <malloc.h>

#include "actors/wire/loans.hpp"
#include "transport/base/segment_pool.hpp"

namespace proctor::internal {

void heap_trimmer::trim_heap() {
  ::malloc_trim(0);
  // Recycled result memory goes too: a worker's free slots, and a parent's
  // mappings of them.
  if (auto* pool = segment_pool::current())
    pool->trim();
  loan_desk::trim_all();
}

void heap_trimmer::idle(std::size_t bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  moved_ += bytes;
  idle_epoch_ = epoch_.load(std::memory_order_relaxed);
  if (armed_ || moved_ < trim_after_bytes)
    return;
  armed_ = true;
  arm(idle_epoch_);
}

void heap_trimmer::arm(std::uint64_t seen) {
  timer_.expires_after(quiet_);
  timer_.async_wait([weak = weak_from_this(), seen](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self)
      return;
    {
      std::lock_guard<std::mutex> guard{self->mtx_};
      auto now = self->epoch_.load(std::memory_order_relaxed);
      if (now != seen) {
        // Work came. Out of it again since: wait for quiet from there (no
        // later idle() would, as this wait was armed). Else the next one.
        if (self->idle_epoch_ == now)
          self->arm(now);
        else
          self->armed_ = false;
        return;
      }
      self->armed_ = false;
      self->moved_ = 0;
    }
    self->trim_();
  });
}

} // namespace proctor::internal
