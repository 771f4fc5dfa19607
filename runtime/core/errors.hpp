#pragma once

#include <string>

#include <caf/error.hpp>

#include "proctor/errc.hpp"

namespace proctor::internal {

/// Throws the exception class that stands for `code` at the API: the
/// subclass a caller catches (queue_empty, queue_full, timeout_error,
/// end_of_pipe, broken_barrier, worker_died, task_timed_out, pool_broken,
/// pool_terminated), else proctor::error with that code.
[[noreturn]] void throw_error(errc code, const std::string& what);

/// The errc and detail of a caf::error in proctor's category; any other
/// error (one of CAF's own) is `otherwise`, with CAF's rendering as detail.
struct error_parts {
  errc code;
  std::string detail;
};
error_parts parts_of(const caf::error& err, caf::actor_system& sys,
                     errc otherwise = errc::remote_error);

} // namespace proctor::internal
