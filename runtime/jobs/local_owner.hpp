#pragma once

#include <string>
#include <string_view>

namespace proctor::internal {

/// This process as the owner of the jobs it runs from a store on this
/// host: the host's boot, the pid namespace, the pid and the pid's start
/// time, so that a pid used again by another process is not taken for
/// this one.
std::string local_owner();

/// Whether the process that `owner` (from local_owner) names still runs.
/// An owner of another boot, or that does not parse, has ended; one of
/// another pid namespace, or that /proc does not show, is taken to run
/// unless a signal says otherwise: a live master's jobs are never taken.
bool local_owner_alive(std::string_view owner);

} // namespace proctor::internal
