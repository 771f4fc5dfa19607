#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>

#include "transport/base/scoped_fd.hpp"
#include "transport/base/sealed_segment.hpp"

namespace proctor::internal {

class segment_pool;

/// `fd` opened again, read-only. A mapping of that one cannot be made
/// writable, so it does not hold off F_SEAL_WRITE as a read-only mapping
/// of a read-write descriptor does; invalid if the system refused.
scoped_fd reopen_read_only(int fd);

/// One memfd of a segment_pool, mapped for good: read-write for the writer
/// that fills it, read-only for the values that read it. Sealed against
/// growth and shrinking only, so that it can be written again once its
/// parent gave it back, or sealed against writes for good (graduate) when
/// a value in it goes anywhere else.
///
/// Threads: any; `mtx_` guards the counts and the graduation, and is never
/// held while the pool's mutex is taken.
class pool_slot : public std::enable_shared_from_this<pool_slot> {
public:
  pool_slot(const pool_slot&) = delete;
  pool_slot& operator=(const pool_slot&) = delete;
  ~pool_slot();

  std::uint64_t id() const noexcept {
    return id_;
  }

  int fd() const noexcept {
    return fd_.get();
  }

  /// The memfd's size: what its writer asked for.
  std::size_t capacity() const noexcept {
    return capacity_;
  }

  /// The read-write mapping, for the one writer that holds the slot.
  std::byte* writable() const noexcept {
    return rw_;
  }

  const std::byte* readable() const noexcept {
    return ro_;
  }

  /// A writer or a value here uses the slot, or stops using it.
  void hold();
  void drop();

  /// The slot went to the parent as a loan, or came back from it.
  void lend();
  void returned();

  bool graduated() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return graduated_;
  }

  /// Seals the memory against writes for good, so that it may go anywhere
  /// as an ordinary sealed segment; it never returns to the pool. False if
  /// the system refused (the caller then copies).
  bool graduate();

private:
  friend class segment_pool;

  pool_slot(segment_pool& pool, std::uint64_t id, scoped_fd fd, std::byte* rw,
            const std::byte* ro, std::size_t capacity) noexcept
    : pool_(pool), id_(id), fd_(std::move(fd)), rw_(rw), ro_(ro), capacity_(capacity) {
  }

  /// After a count went down: back to the pool if nobody uses it any more.
  void settle(std::unique_lock<std::mutex>& guard);

  segment_pool& pool_;
  const std::uint64_t id_;
  scoped_fd fd_;
  std::byte* rw_; ///< null once graduated
  const std::byte* ro_;
  const std::size_t capacity_;
  mutable std::mutex mtx_;
  int users_ = 0;
  int loans_ = 0;
  bool graduated_ = false;
  bool sealed_ = false; ///< graduated, and the seal took
};

/// A value written in a pool_slot.
class pooled_segment final : public sealed_segment {
public:
  /// The first `size` bytes of `slot`, which this value holds.
  pooled_segment(std::shared_ptr<pool_slot> slot, std::size_t size);
  ~pooled_segment() override;

  int fd() const noexcept override {
    return slot_->fd();
  }

  const std::shared_ptr<pool_slot>* pooled() const noexcept override {
    return &slot_;
  }

private:
  std::shared_ptr<pool_slot> slot_;
};

/// A pool worker's results, written in memory that its parent borrows and
/// gives back instead of memory made, mapped and unmapped for each: on a
/// VM each fresh page and each fault costs microseconds, and a result of
/// 1 MiB has 256 pages. Only pool workers have one (enable()); a value in
/// it that goes anywhere but back to the parent as a result graduates to
/// an ordinary sealed segment first.
///
/// Threads: any; `mtx_` guards the free slots and the lent ones.
class segment_pool {
public:
  /// Free slots kept at most, in bytes, while the worker is busy (a quiet
  /// worker trims them all); past that, a slot that comes back is unmapped
  /// and closed. Enough for a parent that holds a few hundred results of
  /// 1 MiB before it lets them go.
  static constexpr std::size_t max_free_bytes = std::size_t{256} << 20;

  /// This process's pool, or null if it has none.
  static segment_pool* current() noexcept;

  /// Gives this process a pool, for good (a pool worker's).
  static void enable();

  /// A slot of `size` bytes, zeroed, held once by the caller: a free one,
  /// or a new one. Throws proctor::error(resource_exhausted).
  std::shared_ptr<pool_slot> take(std::size_t size);

  /// The parent gave back loan `id`; an unknown id is ignored (a parent
  /// that lies only loses its own results).
  void returned(std::uint64_t id);

  /// Unmaps and closes the free slots (after a quiet spell), and those
  /// that come free until a slot is taken again.
  void trim();

  /// Free slots now (for tests).
  std::size_t free_slots() const;

private:
  friend class pool_slot;

  /// `slot` has no user and no loan.
  void idle(std::shared_ptr<pool_slot> slot, bool graduated);
  /// `slot` was lent and is not yet free.
  void lent(const std::shared_ptr<pool_slot>& slot);

  mutable std::mutex mtx_;
  std::multimap<std::size_t, std::shared_ptr<pool_slot>> free_; ///< by capacity
  std::size_t free_bytes_ = 0;
  /// Slots with loans out, kept alive until they come back.
  std::map<std::uint64_t, std::shared_ptr<pool_slot>> lent_;
  std::uint64_t last_id_ = 0;
  bool quiet_ = false; ///< trimmed, and nothing taken since
};

} // namespace proctor::internal
