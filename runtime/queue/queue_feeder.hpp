#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/queue/queue_actor.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

/// A process's pipelined puts into one queue (Python's feeder thread, as an
/// actor). put() appends to a buffer and returns; the feeder sends what the
/// buffer holds as one batch whenever no batch is in flight, so a producer
/// faster than a round trip sends many items per message, and a producer
/// that stops leaves nothing stranded. At most `window` items are unadmitted
/// (buffered or in flight) per process: the backpressure of a bounded queue.
class queue_feeder {
public:
  /// This process's feeder for `queue`, shared by every handle and thread
  /// (so one thread's puts stay in order whichever handle it uses). A batch
  /// stays below `max_batch_bytes` unless one item alone is larger.
  static std::shared_ptr<queue_feeder> of(caf::actor_system& sys, const caf::actor& queue,
                                          std::size_t window, std::size_t max_batch_bytes);
  ~queue_feeder();

  /// This process's feeder for `queue` if it has one.
  static std::shared_ptr<queue_feeder> existing(const caf::actor& queue);

  /// Blocks while the window is full. Throws the error that ended the
  /// pipeline (errc::closed, errc::owner_gone...), sticky for later puts.
  void put(queue_item item);

  /// Waits until every put so far is admitted, then reports a pipeline error.
  void await_admitted();

  /// Sends whatever is buffered at once, in flight or not: the process is
  /// about to end, or a call must find the queue with this process's puts
  /// in it. Sent puts are the queue's for good.
  void send_now();

  /// The queue is gone: wakes every waiter with `text`.
  void fail(errc code, std::string text);

private:
  friend struct feeder_behavior;

  queue_feeder(caf::actor queue, std::size_t window, std::size_t max_batch_bytes);

  /// Sends the buffer as one batch; `mtx_` held, so batches go in order.
  void send_buffer();
  /// The feeder actor heard from the queue.
  void on_put_done(const caf::error& failure, std::uint32_t count);
  void on_poke();
  void throw_if_failed();

  std::mutex mtx_;
  std::condition_variable changed_;
  caf::actor queue_;
  caf::actor actor_; ///< receives put_done; sends the batches
  std::size_t window_;
  std::size_t max_batch_bytes_;
  std::vector<queue_item> buffer_;
  std::size_t in_flight_ = 0;
  bool poked_ = false; ///< a poke or a batch in flight will look at the buffer
  std::optional<errc> failure_;
  std::string failure_text_;
};

/// Sends every live feeder's buffer (a process about to end).
void drain_feeders();

} // namespace proctor::internal
