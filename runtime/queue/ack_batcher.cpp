#include "runtime/queue/ack_batcher.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/queue/queue_actor.hpp"

namespace proctor::internal {

namespace {

using ack_poke_atom = caf::atom_constant<caf::atom("q_ackpoke")>;

} // namespace

std::shared_ptr<ack_batcher> ack_batcher::make(caf::actor_system& sys) {
  std::shared_ptr<ack_batcher> batcher{new ack_batcher};
  std::weak_ptr<ack_batcher> weak = batcher;
  // (The unused int: CAF 0.17 spawns a function without arguments through a
  // null shared_ptr, which UBSan rejects.)
  batcher->actor_ = sys.spawn(
    [weak](caf::event_based_actor*, int) -> caf::behavior {
      return {[weak](ack_poke_atom) {
        if (auto b = weak.lock())
          b->send_all();
      }};
    },
    0);
  return batcher;
}

ack_batcher::~ack_batcher() {
  send_all();
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

void ack_batcher::ack(const caf::actor& fetcher, const caf::actor& queue, std::uint64_t id) {
  bool poke = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& p = pending_[fetcher];
    p.queue = queue;
    p.ids.push_back(id);
    poke = !std::exchange(poked_, true);
  }
  if (poke)
    caf::anon_send(actor_, ack_poke_atom::value);
}

void ack_batcher::send_of(const caf::actor& fetcher) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = pending_.find(fetcher); i != pending_.end()) {
    send(fetcher, i->second);
    pending_.erase(i);
  }
}

void ack_batcher::send_all() {
  std::lock_guard<std::mutex> guard{mtx_};
  poked_ = false;
  for (auto& [fetcher, p] : pending_)
    send(fetcher, p);
  pending_.clear();
}

void ack_batcher::send(const caf::actor& fetcher, pending& p) {
  if (p.ids.size() == 1)
    caf::send_as(fetcher, p.queue, ack_atom::value, p.ids.front());
  else if (!p.ids.empty())
    caf::send_as(fetcher, p.queue, ack_atom::value, encode_ids(p.ids));
}

} // namespace proctor::internal
