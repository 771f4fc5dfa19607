#pragma once

// What the job stores and the jobs core share: the clock jobs are stamped
// with, the checks on values read back from a store, and the order claimed
// jobs run in.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "proctor/errc.hpp"
#include "runtime/jobs/job_store.hpp"

namespace proctor::internal {

/// Now, in milliseconds since the epoch: run-at, created and finished times.
inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// `v`, read from a store, as a T; store_failed if no T can be it.
template <class T>
T in_range(std::int64_t v, const char* what) {
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
    throw error(errc::store_failed, std::string{"proctor: jobs store: a job's "} + what + " ("
                                      + std::to_string(v) + ") is out of range");
  return static_cast<T>(v);
}

/// A state read from a store; store_failed if it is not one of ours.
inline job_state state_of(std::int64_t v) {
  if (v < 0 || v > static_cast<std::int64_t>(job_state::dead))
    throw error(errc::store_failed, "proctor: jobs store: a job's state (" + std::to_string(v)
                                      + ") is not one this proctor knows");
  return static_cast<job_state>(v);
}

/// Claimed jobs in the order to run (UPDATE ... RETURNING promises none):
/// higher priority, then earlier due, then older.
inline void sort_to_run(std::vector<claimed_job>& jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const claimed_job& a, const claimed_job& b) {
    return std::tie(b.priority, a.run_at_ms, a.id) < std::tie(a.priority, b.run_at_ms, b.id);
  });
}

} // namespace proctor::internal
