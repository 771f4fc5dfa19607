#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "transport/base/scoped_fd.hpp"

namespace proctor::internal {

/// Writable shared memory of a fixed size, for values every holder reads
/// and writes (shared_value, shared_array, shared_memory). A memfd sealed
/// against growth and shrinking, so that no holder's mapping can fault
/// past its end, and against further seals, mapped read-write. The kernel
/// frees it when the last descriptor and mapping are gone, in whatever
/// process and however that process ended.
class shared_block {
public:
  shared_block(const shared_block&) = delete;
  shared_block& operator=(const shared_block&) = delete;
  ~shared_block();

  /// A new block of `size` zero bytes (not 0). Throws
  /// proctor::error(errc::resource_exhausted) if the system refuses.
  static std::shared_ptr<shared_block> create(std::size_t size);

  /// Takes a descriptor another process sent: a memfd sealed against
  /// growth, shrinking and further seals, not against writes, of exactly
  /// `size` bytes, 0 < size <= limit, all checked before anything is
  /// mapped. Otherwise null, with why in `why` (the descriptor is closed).
  static std::shared_ptr<shared_block> adopt(scoped_fd fd, std::uint64_t size,
                                             std::uint64_t limit, std::string& why);

  int fd() const noexcept {
    return fd_.get();
  }

  std::span<std::byte> span() const noexcept {
    return {data_, size_};
  }

private:
  shared_block(scoped_fd fd, std::byte* data, std::size_t size) noexcept
    : fd_(std::move(fd)), data_(data), size_(size) {
  }

  scoped_fd fd_;
  std::byte* data_;
  std::size_t size_;
};

} // namespace proctor::internal
