#pragma once

// The queue actor's state and the steps its behavior is made of
// (queue_actor.cpp has the behavior, queue_state.cpp the steps).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <caf/error.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/queue/queue_actor.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

struct waiting_putter {
  std::uint64_t id;
  queue_item item;
  caf::actor_addr producer;
  std::optional<caf::response_promise> promise; ///< a request; else pipelined
  caf::strong_actor_ptr async_sender;
  bool ack = false; ///< pipelined: report admissions once this one is in
};

struct waiting_getter {
  std::uint64_t id;
  std::uint32_t max;
  caf::actor_addr consumer;
  bool tracked;
  caf::response_promise promise;
};

struct queue_state {
  // Not an aggregate: CAF would otherwise construct it from the actor
  // pointer (C++20 parenthesized aggregate init), e.g. a bool member = true.
  queue_state() = default;

  std::size_t maxsize = 0;
  std::size_t max_batch_bytes = 0;
  bool closed = false;
  std::deque<queue_item> items;
  std::deque<waiting_putter> putters;
  std::deque<waiting_getter> getters;
  std::map<caf::actor_addr, std::map<std::uint64_t, queue_item>> unacked;
  std::set<caf::actor_addr> watched;
  std::uint64_t next_id = 1;
  std::uint64_t unfinished = 0; ///< joinable: puts minus task_done calls
  std::vector<caf::response_promise> joiners;
  std::map<std::uint64_t, caf::response_promise> timed_joiners;
  /// Pipelined puts admitted but not yet reported, per producer.
  std::map<caf::actor_addr, std::uint32_t> unreported;

  std::size_t delivered = 0; ///< items in `unacked`, still counted as in the queue
  bool discarding = false;    ///< shut down immediately: items given back are dropped

  /// Items that have not left for good: queued, or delivered and not acked.
  std::size_t size() const {
    return items.size() + delivered;
  }

  bool has_room() const {
    return maxsize == 0 || size() < maxsize;
  }

  static inline const char* name = "proctor.queue";
};

using queue_actor = caf::stateful_actor<queue_state>;

/// The error a queue answers with for `code`, with the text callers see.
caf::error queue_error(errc code);

void watch(queue_actor* self, const caf::strong_actor_ptr& who);
/// Tells a producer's feeder that `count` of its puts got in (`failure`
/// empty) or were refused with `failure`.
void report(queue_actor* self, const caf::strong_actor_ptr& producer, caf::error failure,
            std::uint32_t count);
/// Reports to a producer how many of its pipelined puts got in so far.
void report_admitted(queue_actor* self, const caf::strong_actor_ptr& producer);
void answer_putter(queue_actor* self, waiting_putter& p, errc code);
/// Moves waiting producers' items in while there is room.
void admit_putters(queue_actor* self);
/// Up to `max` items for `consumer`, and no more bytes than a batch may hold
/// (but at least one item); if `tracked`, recorded as delivered but not acked.
encoded_batch take_batch(queue_actor* self, const caf::actor_addr& consumer, bool tracked,
                      std::uint32_t max);
bool is_tracked(queue_actor* self, const caf::strong_actor_ptr& consumer);
/// Serves waiting consumers, then lets waiting producers in, until neither
/// can move.
void pump(queue_actor* self);
/// Puts items back at the head of the queue, in id order (the caller
/// settles `delivered` for those it had counted).
void give_back(queue_actor* self, std::map<std::uint64_t, queue_item>& ledger);
void settle_joiners(queue_actor* self);
/// `n` items are dropped by an immediate shutdown: nobody will finish them.
void discard(queue_actor* self, std::size_t n);

} // namespace proctor::internal
