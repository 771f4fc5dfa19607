#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "transport/base/scoped_fd.hpp"

namespace proctor::internal {

class pool_slot;

/// Bytes in a memfd sealed against writes, growth and shrinking, mapped
/// read-only. The seals make it safe to hand to another process: whoever
/// holds the descriptor can map it, nobody can change or truncate it under
/// a reader (a truncation would raise SIGBUS in the mapping). The kernel
/// frees the memory when the last descriptor and the last mapping of it
/// are gone, in whatever process and however that process ended.
class sealed_segment {
public:
  sealed_segment(const sealed_segment&) = delete;
  sealed_segment& operator=(const sealed_segment&) = delete;
  virtual ~sealed_segment();

  /// A new segment holding a copy of `content` (not empty). Throws
  /// proctor::error(errc::resource_exhausted) if the system refuses.
  static std::shared_ptr<sealed_segment> copy_of(std::span<const std::byte> content);

  /// Takes a descriptor another process sent. It must be a memfd sealed
  /// against writes, growth and shrinking, of exactly `size` bytes, with
  /// 0 < size <= limit: all of that is checked before anything is mapped.
  /// Otherwise null, with why in `why` (and the descriptor is closed).
  static std::shared_ptr<sealed_segment> adopt(scoped_fd fd, std::uint64_t size,
                                               std::uint64_t limit, std::string& why);

  virtual int fd() const noexcept {
    return fd_.get();
  }

  std::span<const std::byte> content() const noexcept {
    return {data_, size_};
  }

  /// A pool worker's recycled memory (segment_pool): lent to its parent
  /// as a result, sealed for good before it goes anywhere else. Null for
  /// every other segment.
  virtual const std::shared_ptr<pool_slot>* pooled() const noexcept {
    return nullptr;
  }

  /// Memory a worker lent this process (a pool result): it goes back when
  /// the last reference here is gone, so it is copied if passed on.
  virtual bool borrowed() const noexcept {
    return false;
  }

protected:
  /// A view of memory that something else maps and keeps (`data` for
  /// `size` bytes): not unmapped here.
  sealed_segment(const std::byte* data, std::size_t size) noexcept
    : data_(data), size_(size), owns_mapping_(false) {
  }

private:
  friend class segment_writer;

  /// Seals `fd` and maps it read-only; no writable mapping of it is left.
  static std::shared_ptr<sealed_segment> seal_and_map(scoped_fd fd, std::size_t size);

  sealed_segment(scoped_fd fd, const std::byte* data, std::size_t size) noexcept
    : fd_(std::move(fd)), data_(data), size_(size) {
  }

  scoped_fd fd_;
  const std::byte* data_;
  std::size_t size_;
  bool owns_mapping_ = true;
};

/// Writable memory that becomes a sealed_segment: written in place, so
/// that a value built here is never copied again on its way to another
/// process of this host.
class segment_writer {
public:
  /// `size` zero bytes: in a pool worker, recycled memory of its
  /// segment_pool. Throws proctor::error(errc::resource_exhausted) if the
  /// system refuses.
  explicit segment_writer(std::size_t size);
  segment_writer(segment_writer&& other) noexcept;
  segment_writer& operator=(segment_writer&& other) noexcept;
  ~segment_writer();

  std::span<std::byte> span() const noexcept {
    return {data_, size_};
  }

  /// Ends writing: the memory is sealed and mapped read-only (or, from a
  /// segment_pool, kept for the parent to borrow). The writer is empty
  /// afterwards.
  std::shared_ptr<sealed_segment> seal();

private:
  void unmap() noexcept;

  scoped_fd fd_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::shared_ptr<pool_slot> slot_; ///< set if the memory is a pool's
};

} // namespace proctor::internal
