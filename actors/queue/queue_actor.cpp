// The actor behind proctor::queue: items as opaque bytes, waiting producers
// and consumers in arrival order, and a ledger of delivered items that only
// an ack from the consumer clears. A consumer that goes down without acking
// gives its items back to the head of the queue, in their order.
#include "actors/queue/queue_actor.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/errors.hpp"
#include "actors/queue/queue_state.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

/// The sender's deliveries `ids` left the queue for good. Only the consumer
/// they went to can ack them: ids of another's are not in its ledger.
void acked(queue_actor* self, std::span<const std::uint64_t> ids) {
  auto& st = self->state;
  auto consumer = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto i = st.unacked.find(consumer);
  if (i == st.unacked.end())
    return;
  std::size_t n = 0;
  for (auto id : ids)
    n += i->second.erase(id);
  if (n == 0)
    return;
  st.delivered -= n;
  pump(self); // room for a waiting producer
}

caf::behavior queue_behavior(queue_actor* self, std::size_t maxsize,
                             std::size_t max_batch_bytes) {
  self->state.maxsize = maxsize;
  self->state.max_batch_bytes = max_batch_bytes;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    st.watched.erase(msg.source);
    st.unreported.erase(msg.source);
    if (auto i = st.unacked.find(msg.source); i != st.unacked.end()) {
      st.delivered -= i->second.size();
      if (st.discarding)
        discard(self, i->second.size());
      else
        give_back(self, i->second);
      st.unacked.erase(i);
    }
    std::erase_if(st.getters, [&](auto& g) { return g.consumer == msg.source; });
    // A blocked put() of a dead producer never returned: drop it. A
    // pipelined one did return, so its item is in the queue for good.
    std::erase_if(st.putters,
                  [&](auto& p) { return p.producer == msg.source && p.promise; });
    pump(self);
  });
  return {
    [=](put_atom, std::int64_t timeout_ms, item_bytes& data,
        segment_list& segments) -> caf::result<void> {
      auto& st = self->state;
      queue_item item{std::move(data), std::move(segments.refs)};
      if (st.closed)
        return queue_error(errc::closed);
      if (st.has_room() && st.putters.empty()) {
        st.items.push_back(std::move(item));
        ++st.unfinished;
        pump(self);
        return caf::unit;
      }
      if (timeout_ms == dont_wait)
        return queue_error(errc::queue_full);
      auto id = st.next_id++;
      auto rp = self->make_response_promise();
      st.putters.push_back({id, std::move(item),
                            caf::actor_cast<caf::actor_addr>(self->current_sender()), rp, {}});
      watch(self, self->current_sender());
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      return rp;
    },
    [=](put_batch_atom, const item_bytes& records, const segment_list& segments) {
      auto& st = self->state;
      auto sender = self->current_sender();
      std::vector<queue_item> batch;
      if (!decode_items(records, segments.refs, batch)) {
        report(self, sender,
               make_caf_error(errc::malformed_payload, "proctor: a put batch does not decode"),
               0);
        return;
      }
      auto count = static_cast<std::uint32_t>(batch.size());
      if (count == 0)
        return;
      if (st.closed) {
        report(self, sender, queue_error(errc::closed), count);
        return;
      }
      // Room and nobody waiting ahead: straight in.
      std::uint32_t admitted = 0;
      while (admitted < count && st.putters.empty() && st.has_room()) {
        st.items.push_back(std::move(batch[admitted++]));
        ++st.unfinished;
      }
      if (admitted == count) {
        report(self, sender, caf::error{}, count);
      } else {
        auto producer = caf::actor_cast<caf::actor_addr>(sender);
        st.unreported[producer] += admitted;
        for (auto i = admitted; i < count; ++i)
          st.putters.push_back({st.next_id++, std::move(batch[i]), producer, std::nullopt,
                                sender, i + 1 == count});
        watch(self, sender);
      }
      pump(self);
    },
    [=](get_atom, std::int64_t timeout_ms,
        std::uint32_t max) -> caf::result<item_bytes, segment_list> {
      auto& st = self->state;
      auto consumer = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto tracked = is_tracked(self, self->current_sender());
      watch(self, self->current_sender());
      if (!st.items.empty() && st.getters.empty()) {
        auto batch = take_batch(self, consumer, tracked, max);
        pump(self);
        return {std::move(batch.records), std::move(batch.segments)};
      }
      if (st.closed)
        return queue_error(errc::closed);
      if (timeout_ms == dont_wait)
        return queue_error(errc::queue_empty);
      auto id = st.next_id++;
      auto rp = self->make_response_promise();
      st.getters.push_back({id, max, consumer, tracked, rp});
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      return rp;
    },
    [=](ack_atom, std::uint64_t id) {
      acked(self, std::span<const std::uint64_t>{&id, 1});
    },
    [=](ack_atom, const item_bytes& blob) -> caf::result<void> {
      std::vector<std::uint64_t> ids;
      if (!decode_ids(blob, ids))
        return make_caf_error(errc::malformed_payload, "proctor: an ack batch does not decode");
      acked(self, ids);
      return caf::unit;
    },
    [=](return_atom, const item_bytes& records, const segment_list& segments) {
      // A consumer handle let go of items it had fetched but not returned.
      auto& st = self->state;
      auto consumer = caf::actor_cast<caf::actor_addr>(self->current_sender());
      std::vector<delivery> batch;
      if (!decode_batch(records, segments.refs, batch))
        return;
      std::map<std::uint64_t, queue_item> returned;
      if (!is_tracked(self, self->current_sender())) {
        for (auto& d : batch)
          returned.emplace(d.id, std::move(d.item));
      } else if (auto i = st.unacked.find(consumer); i != st.unacked.end()) {
        for (auto& d : batch)
          if (auto j = i->second.find(d.id); j != i->second.end()) {
            returned.emplace(d.id, std::move(j->second));
            i->second.erase(j);
          }
        st.delivered -= returned.size(); // they were counted as delivered
      }
      if (st.discarding)
        discard(self, returned.size());
      else
        give_back(self, returned);
      pump(self);
    },
    [=](expire_atom, std::uint64_t id) {
      auto& st = self->state;
      for (auto i = st.putters.begin(); i != st.putters.end(); ++i)
        if (i->id == id) {
          answer_putter(self, *i, errc::queue_full);
          st.putters.erase(i);
          return;
        }
      for (auto i = st.getters.begin(); i != st.getters.end(); ++i)
        if (i->id == id) {
          i->promise.deliver(queue_error(errc::queue_empty));
          st.getters.erase(i);
          return;
        }
      if (auto i = st.timed_joiners.find(id); i != st.timed_joiners.end()) {
        i->second.deliver(queue_error(errc::timeout));
        st.timed_joiners.erase(i);
      }
    },
    [=](size_atom) {
      auto& st = self->state;
      return std::make_tuple(static_cast<std::uint64_t>(st.size()),
                             static_cast<std::uint64_t>(st.maxsize), st.closed);
    },
    [=](close_atom, bool immediate) {
      auto& st = self->state;
      st.closed = true;
      // Blocked put() calls have not returned: they fail. Pipelined ones
      // stay, unless the queue drops what it holds.
      for (auto& p : st.putters)
        if (p.promise || immediate)
          answer_putter(self, p, errc::closed);
      std::erase_if(st.putters, [&](auto& p) { return p.promise.has_value() || immediate; });
      if (immediate) {
        // Python's shutdown(immediate=True): what is queued is gone, and
        // join() no longer waits for it.
        st.discarding = true;
        discard(self, st.items.size());
        st.items.clear();
      }
      pump(self);
    },
    [=](task_done_atom) -> caf::result<void> {
      auto& st = self->state;
      if (st.unfinished == 0)
        return make_caf_error(errc::invalid_state, "proctor: task_done() called too many times");
      --st.unfinished;
      settle_joiners(self);
      return caf::unit;
    },
    [=](join_atom, std::int64_t timeout_ms) -> caf::result<void> {
      auto& st = self->state;
      if (st.unfinished == 0)
        return caf::unit;
      if (timeout_ms == dont_wait)
        return queue_error(errc::timeout);
      auto rp = self->make_response_promise();
      if (timeout_ms > 0) {
        auto id = st.next_id++;
        st.timed_joiners.emplace(id, rp);
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      } else {
        st.joiners.push_back(rp);
      }
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_queue(caf::actor_system& sys, std::size_t maxsize,
                       std::size_t max_batch_bytes) {
  return sys.spawn(queue_behavior, maxsize, max_batch_bytes);
}

} // namespace proctor::internal
