#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/binary_deserializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/sec.hpp>

namespace proctor::internal {

/// CAF's binary format, read with one more check: a sequence may not
/// announce more elements than bytes remain. CAF 0.17 sizes a byte vector
/// from its announced length before it looks at the input, so four bytes
/// of a peer could make it allocate 4 GiB. Every element of a sequence takes
/// at least one byte in this format (a type whose encoding is empty cannot
/// travel in a sequence). Used for every payload that comes from elsewhere.
class bounded_deserializer final : public caf::deserializer {
public:
  bounded_deserializer(caf::execution_unit* ctx, const char* data, std::size_t size)
    : caf::deserializer(ctx), inner_(ctx, data, size) {
  }

  std::size_t remaining() const noexcept {
    return inner_.remaining();
  }

  /// Jumps `num_bytes` forward; false (and nothing moves) past the end.
  bool skip(std::size_t num_bytes) noexcept {
    if (num_bytes > inner_.remaining())
      return false;
    inner_.skip(num_bytes);
    return true;
  }

  caf::error begin_object(std::uint16_t& typenr, std::string& name) override {
    return inner_.begin_object(typenr, name);
  }

  caf::error end_object() override {
    return inner_.end_object();
  }

  caf::error begin_sequence(std::size_t& size) override {
    if (auto err = inner_.begin_sequence(size))
      return err;
    if (size > inner_.remaining())
      return caf::sec::end_of_stream;
    return caf::none;
  }

  caf::error end_sequence() override {
    return inner_.end_sequence();
  }

  caf::error apply_raw(std::size_t num_bytes, void* data) override {
    return inner_.apply_raw(num_bytes, data);
  }

protected:
  caf::error apply_impl(std::int8_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::uint8_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::int16_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::uint16_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::int32_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::uint32_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::int64_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::uint64_t& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(float& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(double& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(long double& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::string& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::u16string& x) override {
    return inner_.apply(x);
  }
  caf::error apply_impl(std::u32string& x) override {
    return inner_.apply(x);
  }

private:
  caf::binary_deserializer inner_;
};

} // namespace proctor::internal
