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

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

constexpr auto ok = static_cast<std::uint8_t>(errc::ok);
constexpr auto full = static_cast<std::uint8_t>(errc::queue_full);
constexpr auto empty = static_cast<std::uint8_t>(errc::queue_empty);
constexpr auto closed = static_cast<std::uint8_t>(errc::closed);
constexpr auto too_many_task_done = static_cast<std::uint8_t>(errc::invalid_state);
constexpr auto timed_out = static_cast<std::uint8_t>(errc::timeout);

struct waiting_putter {
  std::uint64_t id;
  item_bytes item;
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
  std::deque<item_bytes> items;
  std::deque<waiting_putter> putters;
  std::deque<waiting_getter> getters;
  std::map<caf::actor_addr, std::map<std::uint64_t, item_bytes>> unacked;
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

void watch(queue_actor* self, const caf::strong_actor_ptr& who) {
  if (!who)
    return;
  auto addr = caf::actor_cast<caf::actor_addr>(who);
  if (self->state.watched.insert(addr).second)
    self->monitor(who);
}

void report(queue_actor* self, const caf::strong_actor_ptr& producer, std::uint8_t code,
            std::uint32_t count) {
  self->send(caf::actor_cast<caf::actor>(producer), put_done_atom::value, code, count);
}

/// Reports to a producer how many of its pipelined puts got in so far.
void report_admitted(queue_actor* self, const caf::strong_actor_ptr& producer) {
  auto& n = self->state.unreported[caf::actor_cast<caf::actor_addr>(producer)];
  report(self, producer, static_cast<std::uint8_t>(errc::ok), n);
  n = 0;
}

void answer_putter(queue_actor* self, waiting_putter& p, std::uint8_t code) {
  if (p.promise) {
    p.promise->deliver(code);
  } else if (p.async_sender) {
    if (code != static_cast<std::uint8_t>(errc::ok)) {
      report(self, p.async_sender, code, 1);
      return;
    }
    ++self->state.unreported[p.producer];
    if (p.ack)
      report_admitted(self, p.async_sender);
  }
}

/// Moves waiting producers' items in while there is room.
void admit_putters(queue_actor* self) {
  auto& st = self->state;
  // Pipelined puts that arrived before close() are still admitted: their
  // put() returned to the producer.
  while (!st.putters.empty() && st.has_room()) {
    auto p = std::move(st.putters.front());
    st.putters.pop_front();
    st.items.push_back(std::move(p.item));
    ++st.unfinished;
    answer_putter(self, p, ok);
  }
}

/// Up to `max` items for `consumer`, and no more bytes than a batch may hold
/// (but at least one item); if `tracked`, recorded as delivered but not acked.
item_bytes take_batch(queue_actor* self, const caf::actor_addr& consumer, bool tracked,
                      std::uint32_t max) {
  auto& st = self->state;
  std::vector<delivery> batch;
  std::size_t bytes = 0;
  auto* ledger = tracked ? &st.unacked[consumer] : nullptr;
  while (!st.items.empty() && batch.size() < std::max<std::uint32_t>(max, 1)) {
    // Each entry adds its id and a length to the item's bytes.
    auto entry = st.items.front().size() + 16;
    if (!batch.empty() && bytes + entry > st.max_batch_bytes)
      break;
    bytes += entry;
    delivery d{st.next_id++, std::move(st.items.front())};
    st.items.pop_front();
    if (ledger != nullptr) {
      ledger->emplace(d.id, d.item);
      ++st.delivered;
    }
    batch.push_back(std::move(d));
  }
  return encode_batch(batch);
}

bool is_tracked(queue_actor* self, const caf::strong_actor_ptr& consumer) {
  return !consumer
         || tracks_deliveries(self->state.maxsize, self->node(), consumer->node());
}

/// Serves waiting consumers, then lets waiting producers in, until neither
/// can move.
void pump(queue_actor* self) {
  auto& st = self->state;
  for (;;) {
    admit_putters(self);
    if (st.getters.empty())
      break;
    if (st.items.empty()) {
      if (!st.closed)
        break;
      // Closed and drained: nobody waits forever.
      for (auto& g : st.getters)
        g.promise.deliver(closed, item_bytes{});
      st.getters.clear();
      break;
    }
    auto g = std::move(st.getters.front());
    st.getters.pop_front();
    // One item per waiting consumer while others wait: fair, in order.
    auto max = st.getters.empty() ? g.max : 1u;
    g.promise.deliver(ok, take_batch(self, g.consumer, g.tracked, max));
  }
}

/// Puts items back at the head of the queue, in id order (the caller
/// settles `delivered` for those it had counted).
void give_back(queue_actor* self, std::map<std::uint64_t, item_bytes>& ledger) {
  auto& items = self->state.items;
  // Highest id first, each to the front: the lowest ends up at the head.
  for (auto i = ledger.rbegin(); i != ledger.rend(); ++i)
    items.push_front(std::move(i->second));
  ledger.clear();
}

void settle_joiners(queue_actor* self) {
  auto& st = self->state;
  if (st.unfinished != 0)
    return;
  for (auto& j : st.joiners)
    j.deliver(ok);
  st.joiners.clear();
  for (auto& [id, j] : st.timed_joiners)
    j.deliver(ok);
  st.timed_joiners.clear();
}

/// `n` items are dropped by an immediate shutdown: nobody will finish them.
void discard(queue_actor* self, std::size_t n) {
  auto& st = self->state;
  st.unfinished -= std::min<std::uint64_t>(st.unfinished, n);
  settle_joiners(self);
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
    [=](put_atom, std::int64_t timeout_ms, item_bytes& item) -> caf::result<std::uint8_t> {
      auto& st = self->state;
      if (st.closed)
        return closed;
      if (st.has_room() && st.putters.empty()) {
        st.items.push_back(std::move(item));
        ++st.unfinished;
        pump(self);
        return ok;
      }
      if (timeout_ms == dont_wait)
        return full;
      auto id = st.next_id++;
      auto rp = self->make_response_promise<std::uint8_t>();
      st.putters.push_back({id, std::move(item),
                            caf::actor_cast<caf::actor_addr>(self->current_sender()), rp, {}});
      watch(self, self->current_sender());
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      return rp;
    },
    [=](put_batch_atom, const item_bytes& blob) {
      auto& st = self->state;
      auto sender = self->current_sender();
      std::vector<item_bytes> batch;
      if (!decode_items(blob, batch)) {
        report(self, sender, static_cast<std::uint8_t>(errc::malformed_payload), 0);
        return;
      }
      auto count = static_cast<std::uint32_t>(batch.size());
      if (count == 0)
        return;
      if (st.closed) {
        report(self, sender, closed, count);
        return;
      }
      // Room and nobody waiting ahead: straight in.
      std::uint32_t admitted = 0;
      while (admitted < count && st.putters.empty() && st.has_room()) {
        st.items.push_back(std::move(batch[admitted++]));
        ++st.unfinished;
      }
      if (admitted == count) {
        report(self, sender, ok, count);
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
        std::uint32_t max) -> caf::result<std::uint8_t, item_bytes> {
      auto& st = self->state;
      auto consumer = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto tracked = is_tracked(self, self->current_sender());
      watch(self, self->current_sender());
      if (!st.items.empty() && st.getters.empty()) {
        auto batch = take_batch(self, consumer, tracked, max);
        pump(self);
        return {ok, std::move(batch)};
      }
      if (st.closed)
        return {closed, item_bytes{}};
      if (timeout_ms == dont_wait)
        return {empty, item_bytes{}};
      auto id = st.next_id++;
      auto rp = self->make_response_promise<std::uint8_t, item_bytes>();
      st.getters.push_back({id, max, consumer, tracked, rp});
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      return rp;
    },
    [=](ack_atom, std::uint64_t id) {
      auto& st = self->state;
      auto consumer = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (auto i = st.unacked.find(consumer); i != st.unacked.end() && i->second.erase(id)) {
        --st.delivered;
        pump(self); // room for a waiting producer
      }
    },
    [=](return_atom, const item_bytes& blob) {
      // A consumer handle let go of items it had fetched but not returned.
      auto& st = self->state;
      auto consumer = caf::actor_cast<caf::actor_addr>(self->current_sender());
      std::vector<delivery> batch;
      if (!decode_batch(blob, batch))
        return;
      std::map<std::uint64_t, item_bytes> returned;
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
          answer_putter(self, *i, full);
          st.putters.erase(i);
          return;
        }
      for (auto i = st.getters.begin(); i != st.getters.end(); ++i)
        if (i->id == id) {
          i->promise.deliver(empty, item_bytes{});
          st.getters.erase(i);
          return;
        }
      if (auto i = st.timed_joiners.find(id); i != st.timed_joiners.end()) {
        i->second.deliver(timed_out);
        st.timed_joiners.erase(i);
      }
    },
    [=](size_atom) {
      auto& st = self->state;
      return std::make_tuple(static_cast<std::uint64_t>(st.size()),
                             static_cast<std::uint64_t>(st.maxsize), st.closed);
    },
    [=](close_atom, bool immediate) -> std::uint8_t {
      auto& st = self->state;
      st.closed = true;
      // Blocked put() calls have not returned: they fail. Pipelined ones
      // stay, unless the queue drops what it holds.
      for (auto& p : st.putters)
        if (p.promise || immediate)
          answer_putter(self, p, closed);
      std::erase_if(st.putters, [&](auto& p) { return p.promise.has_value() || immediate; });
      if (immediate) {
        // Python's shutdown(immediate=True): what is queued is gone, and
        // join() no longer waits for it.
        st.discarding = true;
        discard(self, st.items.size());
        st.items.clear();
      }
      pump(self);
      return ok;
    },
    [=](task_done_atom) -> std::uint8_t {
      auto& st = self->state;
      if (st.unfinished == 0)
        return too_many_task_done;
      --st.unfinished;
      settle_joiners(self);
      return ok;
    },
    [=](join_atom, std::int64_t timeout_ms) -> caf::result<std::uint8_t> {
      auto& st = self->state;
      if (st.unfinished == 0)
        return ok;
      if (timeout_ms == dont_wait)
        return timed_out;
      auto rp = self->make_response_promise<std::uint8_t>();
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
