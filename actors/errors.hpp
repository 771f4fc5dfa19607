#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include "proctor/errc.hpp"

namespace proctor::internal {

constexpr caf::atom_value error_category = caf::atom("proctor");

/// A proctor error as CAF carries it between actors and processes: the errc,
/// a human-readable detail, and for process ends the Python exit code.
inline caf::error make_caf_error(errc code, std::string detail, int exitcode = 0) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(detail), exitcode)};
}

} // namespace proctor::internal
