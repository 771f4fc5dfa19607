#pragma once

// The internals behind queue.hpp that its templates need; not API.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "proctor/errc.hpp"
#include "proctor/task.hpp"
#include "proctor/detail/segments.hpp"

namespace proctor {

class runtime;

namespace internal {

class queue_client;

/// How long a put or get may wait.
enum class wait_mode { forever, timed, none };

/// An item as put and got: its encoding, and the shared memory its
/// proctor::bytes refer to.
struct encoded_item {
  std::vector<char> data;
  segment_refs segments;
};

/// What every queue<T> shares: the handle of the queue actor (a value that
/// crosses processes) and this process's client for it (not serialized).
class queue_base {
public:
  /// The items in the queue: with this process's puts so far, and those
  /// its handle fetched ahead and get() has not returned yet. Approximate
  /// when other processes use the queue meanwhile, as in Python.
  std::size_t qsize() const;
  bool empty() const;
  bool full() const;

  /// Python's close(): this process puts and gets no more through this
  /// queue (any of its handles here: errc::invalid_state, Python's
  /// ValueError); what it put is still delivered, and items it fetched
  /// ahead go back to the queue. Other processes are not affected.
  void close();

  /// Python's join_thread(): after close(), waits until every put of this
  /// process is in the queue. Throws the error of a put the queue refused
  /// (errc::closed after shutdown(), errc::owner_gone), which pipelined
  /// put() calls could not report. errc::invalid_state before close().
  void join_thread();

  /// Python 3.13's shutdown(): the queue refuses puts from every process
  /// from now on (errc::closed, Python's ShutDown); gets drain what it
  /// holds, then throw errc::closed. With `immediate`, what it holds is
  /// dropped at once (items another process fetched ahead may still be
  /// returned to it there), and join() stops waiting for the dropped items.
  void shutdown(bool immediate = false);

  friend bool operator==(const queue_base& x, const queue_base& y) noexcept {
    return x.handle_ == y.handle_;
  }

protected:
  queue_base() = default;
  queue_base(runtime& rt, std::size_t maxsize);

  /// Puts `x`; its proctor::bytes in shared memory stay there.
  template <class T>
  void put_value(const T& x, wait_mode mode, std::chrono::milliseconds timeout) {
    segment_sink shared;
    shared.capacity = max_segments_per_message;
    encoded_item item;
    {
      sink_scope scope{shared};
      item.data = encode_value(x);
    }
    item.segments = std::move(shared.refs);
    put_item(std::move(item), mode, timeout);
  }

  template <class T>
  T get_value(wait_mode mode, std::chrono::milliseconds timeout) {
    auto item = get_item(mode, timeout);
    if (item.segments.empty())
      return decode_value<T>(item.data);
    refs_source shared{item.segments, 0, item.segments.size()};
    return decode_value<T>(item.data, &shared);
  }

  void put_item(encoded_item item, wait_mode mode, std::chrono::milliseconds timeout);
  encoded_item get_item(wait_mode mode, std::chrono::milliseconds timeout);
  void task_done_impl();
  bool join_impl(std::optional<std::chrono::milliseconds> timeout);

  caf::actor handle_;

private:
  queue_client& client() const;

  mutable std::shared_ptr<queue_client> client_;
};

} // namespace internal

} // namespace proctor
