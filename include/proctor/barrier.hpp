#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/meta/type_name.hpp>

#include "proctor/sync.hpp"
#include "proctor/task.hpp"

namespace proctor {

/// A barrier was broken while a party waited at it, or before (Python's
/// BrokenBarrierError).
class broken_barrier : public error {
public:
  explicit broken_barrier(const std::string& what) : error(errc::broken_barrier, what) {
  }
};

/// Python's multiprocessing.Barrier across processes: `parties` threads, in
/// any processes, wait until all have arrived, then all go on; the barrier
/// is then ready for the next round.
///
/// The action, a registered task bound with proctor::call, runs once per
/// round in the process of the last party to arrive, before anyone goes; if
/// it throws, the barrier breaks and that party gets the exception. A
/// party's timeout, abort(), or the death of a waiting party's process
/// breaks the barrier: everyone waiting gets broken_barrier (Python's
/// BrokenBarrierError), and so does every wait until reset(). The action's
/// arguments travel with every handle: plain values, not pipe ends.
class process_barrier : public internal::sync_base {
public:
  process_barrier(runtime& rt, std::size_t parties, std::optional<task_call> action = {},
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// An invalid handle, to be assigned or deserialized into.
  process_barrier() = default;

  /// Waits for the other parties; returns this party's arrival index, from
  /// 0 to parties() - 1, as Python does. `timeout` defaults to the
  /// barrier's own.
  std::size_t wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// The parties waiting now get broken_barrier; the barrier starts afresh.
  void reset();
  /// Breaks the barrier until reset().
  void abort();

  std::size_t parties() const noexcept {
    return static_cast<std::size_t>(parties_);
  }
  /// Parties waiting now (a snapshot).
  std::size_t n_waiting() const;
  bool broken() const;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, process_barrier& x) {
    return f(caf::meta::type_name("proctor::barrier"), x.handle_, x.parties_, x.action_name_,
             x.action_args_, x.timeout_ms_);
  }

private:
  std::int64_t parties_ = 0;
  std::string action_name_; ///< empty: no action
  std::string action_args_;
  std::int64_t timeout_ms_ = -1; ///< -1: none
};

using barrier = process_barrier;

} // namespace proctor
