// proctor::bytes: its memory, and its two encodings. Inline: a u8 0, the
// length and the bytes, as a std::string travels. Shared: a u8 1, the index
// of the segment's descriptor among those that travel with the value, the
// segment's size, and the offset and length of the content in it.
#include "proctor/bytes.hpp"

#include <algorithm>
#include <cstring>

#include "actors/errors.hpp"
#include "actors/wire/segments.hpp"
#include "proctor/message_type.hpp"
#include "transport/base/sealed_segment.hpp"

PROCTOR_MESSAGE_TYPE(proctor::bytes);

namespace proctor {

namespace {

constexpr std::uint8_t inline_form = 0;
constexpr std::uint8_t shared_form = 1;

} // namespace

bytes::bytes(std::span<const std::byte> content) {
  if (content.empty())
    return;
  if (content.size() >= shared_threshold) {
    auto segment = internal::sealed_segment::copy_of(content);
    auto view = segment->content();
    *this = bytes{segment, view.data(), view.size(), segment.get()};
    return;
  }
  std::shared_ptr<std::byte[]> heap{new std::byte[content.size()]};
  std::memcpy(heap.get(), content.data(), content.size());
  *this = bytes{heap, heap.get(), content.size(), nullptr};
}

bool bytes::shared() const noexcept {
  return segment_ != nullptr;
}

bytes bytes::slice(std::size_t offset, std::size_t count) const {
  offset = std::min(offset, size_);
  count = std::min(count, size_ - offset);
  if (count == 0)
    return {};
  return bytes{owner_, data_ + offset, count, segment_};
}

// -- byte_buffer ---------------------------------------------------------------

byte_buffer::byte_buffer(std::size_t size) : size_(size) {
  if (size >= bytes::shared_threshold) {
    segment_ = std::make_unique<internal::segment_writer>(size);
    data_ = segment_->span().data();
  } else if (size > 0) {
    heap_.reset(new std::byte[size]());
    data_ = heap_.get();
  }
}

byte_buffer::byte_buffer(byte_buffer&&) noexcept = default;
byte_buffer& byte_buffer::operator=(byte_buffer&&) noexcept = default;
byte_buffer::~byte_buffer() = default;

bytes byte_buffer::freeze() {
  auto size = std::exchange(size_, 0);
  data_ = nullptr;
  if (segment_) {
    auto segment = segment_->seal();
    segment_.reset();
    auto view = segment->content();
    return bytes{segment, view.data(), view.size(), segment.get()};
  }
  if (!heap_)
    return {};
  std::shared_ptr<std::byte[]> heap{heap_.release()};
  auto* data = heap.get();
  return bytes{std::move(heap), data, size, nullptr};
}

namespace internal {

caf::error save_bytes(caf::serializer& sink, const bytes& x) {
  if (auto* table = sink_scope::current(); table != nullptr && x.segment_) {
    auto segment = std::static_pointer_cast<const sealed_segment>(x.owner_);
    if (auto index = table->add(segment)) {
      auto whole = segment->content();
      auto form = shared_form;
      auto size = static_cast<std::uint64_t>(whole.size());
      auto offset = static_cast<std::uint64_t>(x.data_ - whole.data());
      auto length = static_cast<std::uint64_t>(x.size_);
      auto i = *index;
      return sink(form, i, size, offset, length);
    }
  }
  auto form = inline_form;
  auto n = x.size_;
  if (auto err = sink(form))
    return err;
  if (auto err = sink.begin_sequence(n))
    return err;
  if (n > 0)
    if (auto err = sink.apply_raw(n, const_cast<std::byte*>(x.data_)))
      return err;
  return sink.end_sequence();
}

caf::error load_bytes(caf::deserializer& source, bytes& x) {
  std::uint8_t form = 0;
  if (auto err = source(form))
    return err;
  if (form == shared_form) {
    std::uint32_t index = 0;
    std::uint64_t whole = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    if (auto err = source(index, whole, offset, length))
      return err;
    auto* table = source_scope::current();
    if (table == nullptr)
      return make_caf_error(errc::malformed_payload,
                            "shared memory where no descriptor can come along");
    if (offset > whole || length > whole - offset)
      return make_caf_error(errc::malformed_payload,
                            "a shared payload's range lies outside its segment");
    std::string why;
    auto segment = table->get(index, whole, why);
    if (!segment)
      return make_caf_error(errc::malformed_payload, why);
    auto* data = segment->content().data() + offset;
    auto* raw = segment.get();
    x = length == 0 ? bytes{}
                    : bytes{std::move(segment), data, static_cast<std::size_t>(length), raw};
    return caf::none;
  }
  if (form != inline_form)
    return make_caf_error(errc::malformed_payload, "unknown form of proctor::bytes");
  std::size_t n = 0;
  // A bounded_deserializer checks n against what remains before this
  // allocates anything.
  if (auto err = source.begin_sequence(n))
    return err;
  if (n == 0) {
    x = bytes{};
    return source.end_sequence();
  }
  // Received inline (from another host), it lands on the heap: faster to
  // fill than new shared memory, and copied once more only if passed on.
  std::shared_ptr<std::byte[]> heap{new std::byte[n]};
  if (auto err = source.apply_raw(n, heap.get()))
    return err;
  if (auto err = source.end_sequence())
    return err;
  auto* data = heap.get();
  x = bytes{std::move(heap), data, n, nullptr};
  return caf::none;
}

} // namespace internal

} // namespace proctor
