#include "runtime/queue/queue_feeder.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "actors/errors.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

using poke_atom = caf::atom_constant<caf::atom("q_poke")>;

std::mutex& registry_mutex() {
  static std::mutex instance;
  return instance;
}

std::map<caf::actor_addr, std::weak_ptr<queue_feeder>>& registry() {
  static std::map<caf::actor_addr, std::weak_ptr<queue_feeder>> instance;
  return instance;
}

/// How many feeders exist, counting one whose destructor has not finished.
/// The last handle may go on any thread (a feeder actor holding the last
/// reference for a moment destroys it on a CAF thread), and its destructor
/// sends what is buffered: a process about to end waits for that.
struct feeder_census {
  std::mutex mtx;
  std::condition_variable changed;
  std::size_t alive = 0;
};

feeder_census& census() {
  static feeder_census instance;
  return instance;
}

} // namespace

/// The actor side: hears the queue's reports and pokes from producers.
struct feeder_behavior {
  static caf::behavior make(caf::event_based_actor* self, std::weak_ptr<queue_feeder> owner,
                            caf::actor queue) {
    self->monitor(queue);
    self->set_down_handler([owner](caf::down_msg&) {
      if (auto f = owner.lock())
        f->fail(errc::owner_gone, "proctor: the queue's owner is gone");
    });
    return {
      [owner](poke_atom) {
        if (auto f = owner.lock())
          f->on_poke();
      },
      [owner](put_done_atom, const caf::error& failure, std::uint32_t count) {
        if (auto f = owner.lock())
          f->on_put_done(failure, count);
      },
    };
  }
};

queue_feeder::queue_feeder(caf::actor queue, std::size_t window, std::size_t max_batch_bytes)
  : queue_(std::move(queue)),
    window_(std::max<std::size_t>(window, 1)),
    max_batch_bytes_(max_batch_bytes) {
  std::lock_guard<std::mutex> guard{census().mtx};
  ++census().alive;
}

queue_feeder::~queue_feeder() {
  // The last handle is gone, but its puts returned: they are the queue's.
  send_now();
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  std::lock_guard<std::mutex> guard{census().mtx};
  --census().alive;
  census().changed.notify_all();
}

std::shared_ptr<queue_feeder> queue_feeder::of(caf::actor_system& sys, const caf::actor& queue,
                                               std::size_t window,
                                               std::size_t max_batch_bytes) {
  std::lock_guard<std::mutex> guard{registry_mutex()};
  auto& all = registry();
  std::erase_if(all, [](auto& entry) { return entry.second.expired(); });
  auto& entry = all[caf::actor_cast<caf::actor_addr>(queue)];
  if (auto existing = entry.lock())
    return existing;
  auto feeder = std::shared_ptr<queue_feeder>(
    new queue_feeder(queue, window, max_batch_bytes));
  feeder->actor_ = sys.spawn(feeder_behavior::make, std::weak_ptr<queue_feeder>{feeder}, queue);
  entry = feeder;
  return feeder;
}

std::shared_ptr<queue_feeder> queue_feeder::existing(const caf::actor& queue) {
  std::lock_guard<std::mutex> guard{registry_mutex()};
  auto& all = registry();
  auto i = all.find(caf::actor_cast<caf::actor_addr>(queue));
  return i != all.end() ? i->second.lock() : nullptr;
}

void queue_feeder::throw_if_failed() {
  if (failure_)
    throw error(*failure_, failure_text_);
}

void queue_feeder::put(queue_item item) {
  bool poke = false;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    changed_.wait(guard, [&] { return failure_ || buffer_.size() + in_flight_ < window_; });
    throw_if_failed();
    buffer_.push_back(std::move(item));
    poke = !poked_;
    poked_ = true;
  }
  if (poke)
    caf::anon_send(actor_, poke_atom::value);
}

void queue_feeder::await_admitted() {
  std::unique_lock<std::mutex> guard{mtx_};
  changed_.wait(guard, [&] { return failure_ || (buffer_.empty() && in_flight_ == 0); });
  throw_if_failed();
}

void queue_feeder::send_now() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!failure_)
    send_buffer();
}

void queue_feeder::fail(errc code, std::string text) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!failure_) {
    failure_ = code;
    failure_text_ = std::move(text);
  }
  changed_.notify_all();
}

void queue_feeder::send_buffer() {
  auto next = buffer_.begin();
  while (next != buffer_.end()) {
    std::vector<queue_item> batch;
    std::size_t bytes = 0;
    auto size = wire_size(*next);
    do {
      bytes += size;
      batch.push_back(std::move(*next++));
      if (next == buffer_.end())
        break;
      size = wire_size(*next);
    } while (bytes + size <= max_batch_bytes_);
    in_flight_ += batch.size();
    auto encoded = encode_items(batch);
    batch.clear(); // the records hold the items now: a large one is not kept twice
    caf::send_as(actor_, queue_, put_batch_atom::value, std::move(encoded.records),
                 std::move(encoded.segments));
  }
  buffer_.clear();
}

void queue_feeder::on_poke() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (in_flight_ > 0)
    return; // the batch's report will look at the buffer
  if (buffer_.empty() || failure_)
    poked_ = false;
  else
    send_buffer();
}

void queue_feeder::on_put_done(const caf::error& failure, std::uint32_t count) {
  std::lock_guard<std::mutex> guard{mtx_};
  in_flight_ -= std::min<std::size_t>(count, in_flight_);
  if (failure && !failure_) {
    failure_ = failure.category() == error_category ? static_cast<errc>(failure.code())
                                                    : errc::remote_error;
    failure_text_ = detail_of(failure);
  }
  if (in_flight_ == 0) {
    if (buffer_.empty() || failure_)
      poked_ = false;
    else
      send_buffer();
  }
  changed_.notify_all();
}

void drain_feeders() {
  std::vector<std::shared_ptr<queue_feeder>> live;
  {
    std::lock_guard<std::mutex> guard{registry_mutex()};
    for (auto& [queue, feeder] : registry())
      if (auto f = feeder.lock())
        live.push_back(std::move(f));
  }
  for (auto& f : live)
    f->send_now();
  // Feeders being destroyed meanwhile, elsewhere, send in their destructor:
  // wait for them (briefly: a destructor only hands its buffer over).
  std::unique_lock<std::mutex> guard{census().mtx};
  if (!census().changed.wait_for(guard, std::chrono::seconds{30},
                                 [&] { return census().alive <= live.size(); }))
    log("queue", log_level::error, "a queue feeder did not finish in 30 s; its puts may be lost");
}

} // namespace proctor::internal
