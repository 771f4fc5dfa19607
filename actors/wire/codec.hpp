#pragma once

#include <span>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

/// Encodes the runtime's control payloads (no actor handles in them).
template <class... Ts>
std::vector<char> encode(Ts&... xs) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (sink(xs...))
    throw error(errc::malformed_payload, "proctor: cannot encode a control frame");
  return buf;
}

/// Decodes a control payload; false unless it is exactly `xs`.
template <class... Ts>
bool decode(std::span<const char> payload, Ts&... xs) {
  bounded_deserializer source{nullptr, payload.data(), payload.size()};
  return !source(xs...) && source.remaining() == 0;
}

} // namespace proctor::internal
