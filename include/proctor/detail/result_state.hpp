#pragma once

// The internals behind async_result.hpp that its templates need; not API.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/detail/segments.hpp"
#include "proctor/errc.hpp"
#include "proctor/task.hpp"

namespace proctor {

namespace internal {

/// Why a task failed, as the pool learned it.
struct task_failure {
  errc code = errc::remote_error;
  std::string type; ///< remote_error: the exception's type
  std::string what;
};

/// Throws the exception class that stands for `f`.
[[noreturn]] void throw_failure(const task_failure& f);

/// The outcome of one submission (an apply, or all chunks of a map), filled
/// part by part by the pool's thread and read by the caller's.
class result_state {
public:
  using clock = std::chrono::steady_clock;

  struct part {
    bool done = false;
    std::vector<char> bytes; ///< the part's results, encoded one after another
    segment_refs segments;   ///< the shared memory of bytes among them
    std::unique_ptr<task_failure> failure; ///< a pointer: most parts never fail
    std::size_t items = 0;
  };

  /// `items[i]` results in part i.
  explicit result_state(std::vector<std::size_t> items);

  /// Run once, on the pool's callback thread, when the last part is done;
  /// wait() and ready() see the result only after it returned.
  void on_done(std::function<void(const result_state&)> callback);

  /// Run on the pool's callback thread after each part, with the results so
  /// far and the total.
  void on_progress(std::function<void(std::size_t, std::size_t)> hook);

  /// Whether on_done() or on_progress() set a callback: then the pool
  /// completes parts on its callback thread.
  bool has_callback() const;

  void complete(std::size_t part, std::vector<char> bytes, segment_refs segments = {});
  /// Marks part `i` failed; complete(i, {}) then makes it done.
  void record_failure(std::size_t part, task_failure why);

  /// Waits for every part; false if `deadline` passed first.
  bool wait(std::optional<clock::time_point> deadline) const;
  /// Waits for part `i`; false if `deadline` passed first.
  bool wait_part(std::size_t i, std::optional<clock::time_point> deadline) const;
  /// The index of the `n`-th part to finish (0-based), once it has.
  std::optional<std::size_t> wait_finished(std::size_t n,
                                           std::optional<clock::time_point> deadline) const;

  bool ready() const;
  bool failed() const;
  /// Results received so far, and the total.
  std::pair<std::size_t, std::size_t> progress() const;

  std::size_t parts() const noexcept {
    return parts_.size();
  }

  /// Part `i`; only once wait_part(i) or wait() said it is done.
  const part& at(std::size_t i) const noexcept {
    return parts_[i];
  }

private:
  mutable std::mutex mtx_;
  mutable std::condition_variable changed_;
  std::vector<part> parts_;
  std::vector<std::size_t> finished_; ///< part indexes in the order they finished
  bool ready_;                        ///< every part done and on_done run
  std::size_t items_done_ = 0;
  std::size_t items_total_ = 0;
  /// Threads in wait_part or wait_finished: only they need a wake-up for
  /// a part that is not the last.
  mutable std::size_t partial_waiters_ = 0;
  std::function<void(const result_state&)> on_done_;
  std::function<void(std::size_t, std::size_t)> on_progress_;
};

/// Appends the `p.items` values of a done part to `out`, or throws its failure.
template <class R>
void decode_part(const result_state::part& p, std::vector<R>& out) {
  if (p.failure)
    throw_failure(*p.failure);
  bounded_deserializer source{serialization_unit(), p.bytes.data(), p.bytes.size()};
  refs_source shared{p.segments, 0, p.segments.size()};
  source_scope scope{shared};
  for (std::size_t i = 0; i < p.items; ++i) {
    R x{};
    if (source(x))
      throw error(errc::malformed_payload, "proctor: a task's result does not decode");
    out.push_back(std::move(x));
  }
}

template <class R>
R decode_single(const result_state& s) {
  if constexpr (std::is_void_v<R>) {
    if (s.at(0).failure)
      throw_failure(*s.at(0).failure);
  } else {
    std::vector<R> out;
    decode_part(s.at(0), out);
    return std::move(out.front());
  }
}

template <class R>
std::vector<R> decode_all(const result_state& s) {
  std::vector<R> out;
  for (std::size_t i = 0; i < s.parts(); ++i)
    decode_part(s.at(i), out);
  return out;
}

inline std::optional<result_state::clock::time_point>
deadline_after(std::chrono::steady_clock::duration timeout) {
  return result_state::clock::now() + timeout;
}

} // namespace internal

} // namespace proctor
