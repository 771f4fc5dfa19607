#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"

namespace proctor::internal {

// The one codec for the batches of records that the pool's tasks and
// results and the queue's items travel in (hot paths, measured faster than
// a CAF message per record). A record is fields one after another: numbers
// and strings in CAF's binary format, byte blobs as a uint32 length and the
// raw bytes, copied once. The reader checks every length and count against
// what is left before it allocates, so a lying peer costs nothing.

/// Appends records to `out`.
class record_writer {
public:
  explicit record_writer(std::vector<char>& out) : sink_(nullptr, out) {
  }

  /// CAF-serializable fields (integers, strings...).
  template <class... Ts>
  record_writer& fields(const Ts&... xs) {
    sink_(const_cast<Ts&>(xs)...);
    return *this;
  }

  /// A blob: its length, then its bytes as they are.
  record_writer& blob(std::span<const char> bytes) {
    auto n = static_cast<std::uint32_t>(bytes.size());
    sink_(n);
    if (n > 0)
      sink_.apply_raw(n, const_cast<char*>(bytes.data()));
    return *this;
  }

private:
  caf::binary_serializer sink_;
};

/// Reads records from `in`; every call is false once anything failed to
/// decode, and stays false.
class record_reader {
public:
  explicit record_reader(std::span<const char> in)
    : in_(in), source_(nullptr, in.data(), in.size()) {
  }

  template <class... Ts>
  bool fields(Ts&... xs) {
    ok_ = ok_ && !source_(xs...);
    return ok_;
  }

  /// A blob without copying it: `out` views the input, valid while it is.
  bool view(std::string_view& out) {
    std::uint32_t n = 0;
    ok_ = ok_ && !source_(n) && n <= source_.remaining();
    if (!ok_)
      return false;
    out = std::string_view{in_.data() + (in_.size() - source_.remaining()), n};
    ok_ = source_.skip(n);
    return ok_;
  }

  /// A blob copied into any container of char (string, vector<char>).
  template <class Container>
  bool blob(Container& out) {
    std::string_view bytes;
    if (!view(bytes))
      return false;
    out.assign(bytes.begin(), bytes.end());
    return true;
  }

  /// A count of entries to follow, each of which takes at least one byte.
  bool count(std::uint32_t& n) {
    ok_ = ok_ && !source_(n) && n <= source_.remaining();
    return ok_;
  }

  std::size_t remaining() noexcept {
    return source_.remaining();
  }

  /// Everything decoded and nothing is left over.
  bool finished() noexcept {
    return ok_ && source_.remaining() == 0;
  }

private:
  std::span<const char> in_;
  bounded_deserializer source_;
  bool ok_ = true;
};

} // namespace proctor::internal
