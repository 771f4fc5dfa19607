#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "proctor/errc.hpp"
#include "proctor/task.hpp"
#include "proctor/detail/queue_handle.hpp"

namespace proctor {

class runtime;

/// A put found the queue full until its timeout (Python's queue.Full).
class queue_full : public error {
public:
  explicit queue_full(const std::string& what) : error(errc::queue_full, what) {
  }
};

/// A get found the queue empty until its timeout (Python's queue.Empty).
class queue_empty : public error {
public:
  explicit queue_empty(const std::string& what) : error(errc::queue_empty, what) {
  }
};

/// Python's multiprocessing.Queue for any type CAF can serialize (a
/// proctor::bytes in an item stays in shared memory on this host: see
/// docs/bulk.md). The queue
/// lives in the process that created it; a handle is a value: copy it, pass
/// it to a process or a task as an argument, send it inside a message. Every
/// process may put and get at once.
///
/// put() pipelines: it returns once the item is on its way, and blocks while
/// the process has many items waiting for room (a bounded queue applies
/// backpressure across processes). A process's puts travel in batches, in
/// order; those still buffered when the process ends normally or drops its
/// last handle are sent then (a killed process loses them, as in Python).
/// A pipelined put the queue refuses (it was shut down, its owner died) is
/// reported by the next put() or join() of this process on the queue, and
/// by join_thread(); a timed or non-blocking put reports at that call.
/// An item leaves the queue for good only when get() has returned it;
/// items a consumer in another process fetched ahead and never returned go
/// back to the head, in order, if its process dies. If the owner dies,
/// every call fails with errc::owner_gone. qsize(), empty() and full()
/// count this process's own puts and what its handle fetched ahead, so
/// `while (!q.empty()) q.get();` drains what this process can see. They also
/// count what consumers in other processes fetched ahead and have not
/// returned yet, which only those consumers' get() returns (so with several
/// consumer processes, empty() being false does not promise this process an
/// item); so does a bounded queue's maxsize: it never holds more, wherever
/// its items are. A handle must not outlive its process's runtime.
template <class T>
class queue : public internal::queue_base {
public:
  /// A queue owned by this process; `maxsize` 0 is unbounded.
  explicit queue(runtime& rt, std::size_t maxsize = 0) : queue_base(rt, maxsize) {
  }

  /// An invalid handle, to be assigned or deserialized into.
  queue() = default;

  void put(const T& x) {
    put_value(x, internal::wait_mode::forever, {});
  }

  /// Throws queue_full if there is no room within `timeout`.
  void put(const T& x, std::chrono::milliseconds timeout) {
    put_value(x, internal::wait_mode::timed, timeout);
  }

  void put_nowait(const T& x) {
    put_value(x, internal::wait_mode::none, {});
  }

  /// Throws proctor::error(errc::closed) once the queue is shut down and
  /// drained.
  T get() {
    return get_value<T>(internal::wait_mode::forever, {});
  }

  /// Throws queue_empty if no item comes within `timeout`.
  T get(std::chrono::milliseconds timeout) {
    return get_value<T>(internal::wait_mode::timed, timeout);
  }

  T get_nowait() {
    return get_value<T>(internal::wait_mode::none, {});
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, queue& x) {
    return f(caf::meta::type_name("proctor::queue"), x.handle_);
  }
};

/// Python's SimpleQueue: put, get, empty and close only. put() pipelines
/// as queue<T>'s does; get() waits as long as it takes.
template <class T>
class simple_queue : private internal::queue_base {
public:
  explicit simple_queue(runtime& rt) : queue_base(rt, 0) {
  }

  /// An invalid handle, to be assigned or deserialized into.
  simple_queue() = default;

  void put(const T& x) {
    put_value(x, internal::wait_mode::forever, {});
  }

  /// Throws proctor::error(errc::invalid_state) after close() here.
  T get() {
    return get_value<T>(internal::wait_mode::forever, {});
  }

  using queue_base::close;
  using queue_base::empty;

  friend bool operator==(const simple_queue& x, const simple_queue& y) noexcept {
    return x.handle_ == y.handle_;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, simple_queue& x) {
    return f(caf::meta::type_name("proctor::simple_queue"), x.handle_);
  }
};

/// queue<T> plus Python's JoinableQueue: task_done() and join().
template <class T>
class joinable_queue : public queue<T> {
public:
  using queue<T>::queue;

  /// One item taken by get() is processed. Called more often than items
  /// were put: proctor::error(errc::invalid_state), as Python's ValueError.
  void task_done() {
    this->task_done_impl();
  }

  /// Blocks until every item put has been marked task_done().
  void join() {
    this->join_impl(std::nullopt);
  }

  /// false if items are still unfinished after `timeout`.
  bool join(std::chrono::milliseconds timeout) {
    return this->join_impl(timeout);
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, joinable_queue& x) {
    return f(caf::meta::type_name("proctor::joinable_queue"), x.handle_);
  }
};

} // namespace proctor
