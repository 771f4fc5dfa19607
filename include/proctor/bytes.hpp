#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

namespace proctor {

class bytes;

namespace internal {

class sealed_segment;
class segment_writer;

caf::error save_bytes(caf::serializer& sink, const bytes& x);
caf::error load_bytes(caf::deserializer& source, bytes& x);

} // namespace internal

/// An immutable run of bytes, cheap to copy and to pass on: images,
/// documents, arrays of samples. Use it where a large std::string or vector
/// would be copied on every hop.
///
/// Copies of a `bytes` share one buffer. From `shared_threshold` bytes on,
/// that buffer is sealed shared memory (a memfd nobody can change any
/// more): passed to a process of this host (a task argument or result, a
/// queue item, a pipe message, an actor message), only its descriptor
/// travels, and the receiver maps the very same memory. When a copy happens:
///   - once, when a `bytes` is made from other memory (the constructors
///     below); never if it is written in place (byte_buffer);
///   - never when it is copied, sliced or passed on within this host;
///   - once on each side when it goes to another host, or is smaller than
///     shared_threshold (it then travels inline, like a std::string); a
///     `bytes` received inline is on the heap, and passing it on to a
///     process of this host copies it once more;
///   - a pool worker's result is lent from memory the worker recycles, not
///     sealed (no copy, and no fresh pages per task: docs/bulk.md); the
///     process that got it copies it once if it passes it on.
/// The memory is freed when the last copy in the last process that holds
/// it is gone, however that process ended: nothing outlives a crash.
class bytes {
public:
  /// From this size on, the content lives in shared memory.
  static constexpr std::size_t shared_threshold = 64 * 1024;

  /// No bytes.
  bytes() noexcept = default;

  /// A copy of `content`. Throws proctor::error(errc::resource_exhausted)
  /// if the system refuses the memory.
  explicit bytes(std::span<const std::byte> content);

  explicit bytes(std::string_view content)
    : bytes(std::as_bytes(std::span<const char>{content.data(), content.size()})) {
  }

  const std::byte* data() const noexcept {
    return data_;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  std::span<const std::byte> span() const noexcept {
    return {data_, size_};
  }

  /// The content as characters, without a copy.
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  /// True if the content is in shared memory, so that passing it to a
  /// process of this host copies nothing.
  bool shared() const noexcept;

  /// `count` bytes from `offset` on (clamped to the end), sharing this
  /// buffer: no copy.
  bytes slice(std::size_t offset, std::size_t count = std::string_view::npos) const;

  friend bool operator==(const bytes& x, const bytes& y) noexcept {
    return x.size_ == y.size_
           && (x.data_ == y.data_ || x.size_ == 0
               || std::memcmp(x.data_, y.data_, x.size_) == 0);
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, bytes& x) {
    if constexpr (std::is_base_of_v<caf::serializer, Inspector>)
      return internal::save_bytes(f, x);
    else if constexpr (std::is_base_of_v<caf::deserializer, Inspector>)
      return internal::load_bytes(f, x);
    else
      return f(caf::meta::type_name("proctor::bytes"), x.size_);
  }

private:
  friend class byte_buffer;
  friend caf::error internal::load_bytes(caf::deserializer&, bytes&);
  friend caf::error internal::save_bytes(caf::serializer&, const bytes&);

  bytes(std::shared_ptr<const void> owner, const std::byte* data, std::size_t size,
        const internal::sealed_segment* segment) noexcept
    : owner_(std::move(owner)), segment_(segment), data_(data), size_(size) {
  }

  /// Keeps the memory alive: a sealed_segment, or heap memory.
  std::shared_ptr<const void> owner_;
  /// The segment behind the content, if it is shared memory.
  const internal::sealed_segment* segment_ = nullptr;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Memory to write a `bytes` in place: from bytes::shared_threshold on it
/// is shared memory already, so the result is never copied on its way to
/// another process of this host. Move-only.
class byte_buffer {
public:
  /// `size` zero bytes. Throws proctor::error(errc::resource_exhausted).
  explicit byte_buffer(std::size_t size);
  byte_buffer(byte_buffer&&) noexcept;
  byte_buffer& operator=(byte_buffer&&) noexcept;
  ~byte_buffer();

  std::byte* data() const noexcept {
    return data_;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  std::span<std::byte> span() const noexcept {
    return {data_, size_};
  }

  /// The bytes written, which can no longer change; the buffer is empty
  /// afterwards.
  bytes freeze();

private:
  std::unique_ptr<internal::segment_writer> segment_;
  std::unique_ptr<std::byte[]> heap_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace proctor
