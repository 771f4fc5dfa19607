#pragma once

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
#include "proctor/errc.hpp"
#include "proctor/task.hpp"
#include "proctor/detail/result_state.hpp"

namespace proctor {

/// A task threw in its worker (the worker lives on): the exception's type
/// name and what() as they were over there.
class remote_error : public error {
public:
  remote_error(std::string type, const std::string& what)
    : error(errc::remote_error, what), type_(std::move(type)) {
  }

  /// The demangled type name of the exception the task threw.
  const std::string& type() const noexcept {
    return type_;
  }

private:
  std::string type_;
};

/// The worker running a task died (signal or exit), on every attempt.
class worker_died : public error {
public:
  explicit worker_died(const std::string& what) : error(errc::worker_died, what) {
  }
};

/// A task ran past the pool's task_timeout on every attempt.
class task_timed_out : public error {
public:
  explicit task_timed_out(const std::string& what) : error(errc::task_timed_out, what) {
  }
};

/// The pool gave up restarting workers (restart intensity exceeded).
class pool_broken : public error {
public:
  explicit pool_broken(const std::string& what) : error(errc::pool_broken, what) {
  }
};

/// terminate() ended the pool before the task finished.
class pool_terminated : public error {
public:
  explicit pool_terminated(const std::string& what) : error(errc::pool_terminated, what) {
  }
};

/// Python's AsyncResult: the future value of a pool call.
template <class T>
class async_result {
public:
  using decoder = T (*)(const internal::result_state&);

  async_result(std::shared_ptr<internal::result_state> state, decoder decode)
    : state_(std::move(state)), decode_(decode) {
  }

  /// Waits for the value; rethrows the task's failure (remote_error,
  /// worker_died, task_timed_out, pool_broken, pool_terminated).
  T get() const {
    state_->wait(std::nullopt);
    return decode_(*state_);
  }

  /// As get(); throws timeout_error if the value is not there in `timeout`.
  T get(std::chrono::steady_clock::duration timeout) const {
    if (!state_->wait(internal::deadline_after(timeout)))
      throw timeout_error("proctor: the result is not ready within the timeout");
    return decode_(*state_);
  }

  void wait() const {
    state_->wait(std::nullopt);
  }

  /// true if ready within `timeout`.
  bool wait(std::chrono::steady_clock::duration timeout) const {
    return state_->wait(internal::deadline_after(timeout));
  }

  bool ready() const {
    return state_->ready();
  }

  /// Whether the call succeeded; errc::invalid_state before ready(), as
  /// Python's ValueError.
  bool successful() const {
    if (!ready())
      throw error(errc::invalid_state, "proctor: successful() called before the result is ready");
    return !state_->failed();
  }

  /// Results received so far and in all (items of a map; 0 or 1 for apply):
  /// enough to draw a progress bar while waiting.
  std::pair<std::size_t, std::size_t> progress() const {
    return state_->progress();
  }

private:
  std::shared_ptr<internal::result_state> state_;
  decoder decode_;
};

/// The lazy results of imap (in order) and imap_unordered (as they come):
/// each is decoded when the caller reaches it. A failed item throws its
/// failure when reached; iteration may go on after it. An exception thrown
/// by the input range comes after every result before it.
template <class R>
class imap_result {
public:
  imap_result(std::shared_ptr<internal::result_state> state, bool ordered,
              std::exception_ptr range_failure = {})
    : state_(std::move(state)), ordered_(ordered), range_failure_(std::move(range_failure)) {
  }

  /// false once every result has been taken.
  bool has_next() const {
    return !buffer_.empty() || next_part_ < state_->parts() || range_failure_;
  }

  /// The next result; waits for it. errc::invalid_state past the end.
  R next() {
    return take(std::nullopt);
  }

  /// As next(); throws timeout_error if it does not come within `timeout`.
  R next(std::chrono::steady_clock::duration timeout) {
    return take(internal::deadline_after(timeout));
  }

  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using pointer = const R*;
    using reference = const R&;

    iterator() = default;
    explicit iterator(imap_result* owner) : owner_(owner) {
      advance();
    }

    const R& operator*() const {
      return *value_;
    }
    iterator& operator++() {
      advance();
      return *this;
    }
    /// What `*it++` reads: the value before the step.
    struct previous {
      R value;
      const R& operator*() const {
        return value;
      }
    };
    previous operator++(int) {
      previous old{std::move(*value_)};
      advance();
      return old;
    }
    bool operator==(const iterator& other) const {
      return owner_ == other.owner_;
    }

  private:
    void advance() {
      if (owner_ != nullptr && owner_->has_next())
        value_ = owner_->next();
      else
        owner_ = nullptr;
    }

    imap_result* owner_ = nullptr;
    std::optional<R> value_;
  };

  iterator begin() {
    return iterator{this};
  }
  iterator end() {
    return {};
  }

private:
  R take(std::optional<internal::result_state::clock::time_point> deadline) {
    if (buffer_.empty()) {
      if (next_part_ >= state_->parts()) {
        if (range_failure_)
          std::rethrow_exception(std::exchange(range_failure_, nullptr));
        throw error(errc::invalid_state, "proctor: no more results");
      }
      std::size_t part = next_part_;
      if (ordered_) {
        if (!state_->wait_part(part, deadline))
          throw timeout_error("proctor: the next result is not ready within the timeout");
      } else {
        auto finished = state_->wait_finished(next_part_, deadline);
        if (!finished)
          throw timeout_error("proctor: the next result is not ready within the timeout");
        part = *finished;
      }
      ++next_part_;
      std::vector<R> items;
      internal::decode_part(state_->at(part), items); // a failure throws here
      buffer_.assign(std::make_move_iterator(items.begin()),
                     std::make_move_iterator(items.end()));
      taken_ = 0;
    }
    R x = std::move(buffer_[taken_++]);
    if (taken_ == buffer_.size())
      buffer_.clear();
    return x;
  }

  std::shared_ptr<internal::result_state> state_;
  bool ordered_;
  std::exception_ptr range_failure_; ///< thrown once the results before it are taken
  std::size_t next_part_ = 0;
  std::vector<R> buffer_;
  std::size_t taken_ = 0;
};

} // namespace proctor
