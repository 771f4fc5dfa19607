#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "proctor/errc.hpp"

namespace proctor::internal {

constexpr caf::atom_value error_category = caf::atom("proctor");

/// A proctor error as CAF carries it between actors and processes: the errc,
/// a human-readable detail, and for process ends the Python exit code.
inline caf::error make_caf_error(errc code, std::string detail, int exitcode = 0) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(detail), exitcode)};
}

/// Whether `err` reports that an actor is gone, or the link or process it
/// lived behind (CAF's own errors, a closed link, an ended process), rather
/// than being its answer to a request (queue_empty, timeout...).
inline bool means_actor_gone(const caf::error& err) {
  if (err.category() != error_category)
    return true;
  switch (static_cast<errc>(err.code())) {
    case errc::frame_too_large:
    case errc::malformed_payload:
      return false; // about the request, not the actor
    case errc::connection_closed:
    case errc::process_exited:
    case errc::process_killed:
    case errc::owner_gone:
      return true;
    default:
      return static_cast<errc>(err.code()) < errc::unregistered_task; // transport
  }
}

/// The detail text of a proctor error made by make_caf_error (empty if it
/// has none).
inline std::string detail_of(const caf::error& err) {
  auto& context = err.context();
  if (context.size() >= 1 && context.match_element<std::string>(0))
    return context.get_as<std::string>(0);
  return {};
}

} // namespace proctor::internal
