#pragma once

// proctor::bytes that a test can recognise in another process: a pattern
// from a seed, and a description of what arrived.

#include <cstddef>
#include <cstdint>
#include <string>

#include "proctor/bytes.hpp"

namespace proctor::testing {

inline std::uint64_t checksum(const bytes& b) {
  std::uint64_t sum = 0;
  for (auto x : b.span())
    sum = sum * 31 + std::to_integer<std::uint8_t>(x);
  return sum;
}

/// "size:shared:checksum", as the receiving process saw it.
inline std::string describe(const bytes& b) {
  return std::to_string(b.size()) + ":" + (b.shared() ? "1" : "0") + ":"
         + std::to_string(checksum(b));
}

/// `n` bytes made from `seed`, in shared memory from the threshold on.
inline bytes pattern(std::size_t n, int seed) {
  byte_buffer buffer{n};
  for (std::size_t i = 0; i < n; ++i)
    buffer.data()[i] = static_cast<std::byte>((i * 7 + static_cast<std::size_t>(seed)) & 0xff);
  return buffer.freeze();
}

} // namespace proctor::testing
