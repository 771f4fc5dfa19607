// The steps of the queue actor: admitting producers, serving consumers,
// giving back what a dead consumer held, settling joiners.
#include "actors/queue/queue_state.hpp"

#include <algorithm>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/errors.hpp"

namespace proctor::internal {

caf::error queue_error(errc code) {
  switch (code) {
    case errc::queue_full:
      return make_caf_error(code, "proctor: the queue is full");
    case errc::queue_empty:
      return make_caf_error(code, "proctor: the queue is empty");
    case errc::closed:
      return make_caf_error(code, "proctor: the queue is closed");
    case errc::timeout:
      return make_caf_error(code, "proctor: join() timed out");
    default:
      return make_caf_error(code, std::string{"proctor: queue: "} + to_string(code));
  }
}

void watch(queue_actor* self, const caf::strong_actor_ptr& who) {
  if (!who)
    return;
  auto addr = caf::actor_cast<caf::actor_addr>(who);
  if (self->state.watched.insert(addr).second)
    self->monitor(who);
}

void report(queue_actor* self, const caf::strong_actor_ptr& producer, caf::error failure,
            std::uint32_t count) {
  self->send(caf::actor_cast<caf::actor>(producer), put_done_atom::value, std::move(failure),
             count);
}

void report_admitted(queue_actor* self, const caf::strong_actor_ptr& producer) {
  auto& n = self->state.unreported[caf::actor_cast<caf::actor_addr>(producer)];
  report(self, producer, caf::error{}, n);
  n = 0;
}

void answer_putter(queue_actor* self, waiting_putter& p, errc code) {
  if (p.promise) {
    if (code == errc::ok)
      p.promise->deliver(caf::unit);
    else
      p.promise->deliver(queue_error(code));
  } else if (p.async_sender) {
    if (code != errc::ok) {
      report(self, p.async_sender, queue_error(code), 1);
      return;
    }
    ++self->state.unreported[p.producer];
    if (p.ack)
      report_admitted(self, p.async_sender);
  }
}

void admit_putters(queue_actor* self) {
  auto& st = self->state;
  // Pipelined puts that arrived before close() are still admitted: their
  // put() returned to the producer.
  while (!st.putters.empty() && st.has_room()) {
    auto p = std::move(st.putters.front());
    st.putters.pop_front();
    st.items.push_back(std::move(p.item));
    ++st.unfinished;
    answer_putter(self, p, errc::ok);
  }
}

encoded_batch take_batch(queue_actor* self, const caf::actor_addr& consumer, bool tracked,
                         std::uint32_t max) {
  auto& st = self->state;
  auto count = std::min<std::size_t>(std::max<std::uint32_t>(max, 1), st.items.size());
  std::vector<delivery> taken; // an untracked batch's items; a ledger keeps the others
  taken.reserve(count);
  std::vector<delivery_view> batch;
  std::size_t bytes = 0;
  auto* ledger = tracked ? &st.unacked[consumer] : nullptr;
  while (!st.items.empty() && batch.size() < count) {
    // Each entry adds its id, its segments' range and a length to the
    // item's bytes. Shared memory counts too: it travels inline over TCP.
    auto entry = wire_size(st.items.front()) + 24;
    if (!batch.empty() && bytes + entry > st.max_batch_bytes)
      break;
    bytes += entry;
    auto id = st.next_id++;
    const queue_item* item = nullptr;
    if (ledger != nullptr) {
      item = &ledger->emplace(id, std::move(st.items.front())).first->second;
      ++st.delivered;
    } else {
      item = &taken.emplace_back(delivery{id, std::move(st.items.front())}).item;
    }
    st.items.pop_front();
    batch.push_back({id, item});
  }
  return encode_batch(batch);
}

bool is_tracked(queue_actor* self, const caf::strong_actor_ptr& consumer) {
  return !consumer
         || tracks_deliveries(self->state.maxsize, self->node(), consumer->node());
}

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
        g.promise.deliver(queue_error(errc::closed));
      st.getters.clear();
      break;
    }
    auto g = std::move(st.getters.front());
    st.getters.pop_front();
    // One item per waiting consumer while others wait: fair, in order.
    auto max = st.getters.empty() ? g.max : 1u;
    auto batch = take_batch(self, g.consumer, g.tracked, max);
    g.promise.deliver(std::move(batch.records), std::move(batch.segments));
  }
}

void give_back(queue_actor* self, std::map<std::uint64_t, queue_item>& ledger) {
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
    j.deliver(caf::unit);
  st.joiners.clear();
  for (auto& [id, j] : st.timed_joiners)
    j.deliver(caf::unit);
  st.timed_joiners.clear();
}

void discard(queue_actor* self, std::size_t n) {
  auto& st = self->state;
  st.unfinished -= std::min<std::uint64_t>(st.unfinished, n);
  settle_joiners(self);
}

} // namespace proctor::internal
