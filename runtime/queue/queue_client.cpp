// A process's side of a queue: a scoped actor per queue and thread that
// fetches items ahead in batches and acks each one as get() returns it, and
// the process's feeder that pipelines its puts.
#include "proctor/queue.hpp"

#include <atomic>
#include <deque>
#include <map>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "actors/queue/queue_actor.hpp"
#include "proctor/runtime.hpp"
#include "runtime/core/actor_client.hpp"
#include "runtime/queue/ack_batcher.hpp"
#include "runtime/queue/queue_feeder.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor::internal {

namespace {

/// Pipelined puts one process may have unadmitted in one queue: large
/// enough to batch well, small enough to bound the producer's memory.
constexpr std::size_t put_window = 1024;
/// A batch of puts aims below this many bytes (an item alone may be larger).
constexpr std::size_t put_batch_bytes = 256 * 1024;
/// Items a get may bring at once: fewer when each one is acked.
constexpr std::uint32_t tracked_fetch = 32;
constexpr std::uint32_t untracked_fetch = 256;
/// Room for the message around an item, below the maximum frame size.
constexpr std::size_t envelope = 4096;

/// What one delivery batch may hold under the runtime's frame limit.
std::size_t delivery_batch_bytes(runtime& rt) {
  auto limit = internal::impl_of(rt).max_frame_size();
  return limit > 2 * envelope ? std::min(put_batch_bytes, limit - envelope) : envelope;
}

std::int64_t wire_timeout(wait_mode mode, std::chrono::milliseconds t) {
  switch (mode) {
    case wait_mode::forever:
      return wait_forever;
    case wait_mode::none:
      return dont_wait;
    default:
      return std::max<std::int64_t>(t.count(), 1);
  }
}

} // namespace

/// Items fetched ahead for one handle, shared by its threads so that one
/// thread's fetch never strands items another thread waits for. Each keeps
/// the session actor that fetched it: the queue's ledger knows that one.
struct fetched_items {
  struct entry {
    delivery item;
    caf::actor fetcher;
  };

  std::mutex mtx;
  std::deque<entry> items;
  int fetching = 0; ///< sessions waiting for the queue right now
  /// Set by close() in this process, for every handle of the queue here.
  std::shared_ptr<std::atomic<bool>> closed_here;
};

/// The close() flag of `queue` in this process, shared by all its handles.
std::shared_ptr<std::atomic<bool>> closed_here_flag(const caf::actor& queue) {
  static std::mutex mtx;
  static std::map<caf::actor_addr, std::weak_ptr<std::atomic<bool>>> flags;
  std::lock_guard<std::mutex> guard{mtx};
  std::erase_if(flags, [](auto& entry) { return entry.second.expired(); });
  auto& entry = flags[caf::actor_cast<caf::actor_addr>(queue)];
  auto flag = entry.lock();
  if (!flag) {
    flag = std::make_shared<std::atomic<bool>>(false);
    entry = flag;
  }
  return flag;
}

class queue_session : public actor_client {
public:
  using shared_state = fetched_items;

  queue_session(caf::actor_system& sys, caf::actor queue,
                std::shared_ptr<channel_failure> failure, std::shared_ptr<fetched_items> fetched)
    : actor_client(sys, std::move(queue), "queue", std::move(failure)),
      fetched_(std::move(fetched)) {
    {
      std::lock_guard<std::mutex> shared{fetched_->mtx};
      if (!fetched_->closed_here)
        fetched_->closed_here = closed_here_flag(target);
      closed_here_ = fetched_->closed_here;
    }
    maxsize_ = std::get<1>(size_unlocked());
    tracked_ = tracks_deliveries(maxsize_, target.node(), sys.node());
    if (auto* rt = current_runtime())
      shares_memory_ = rt->shares_memory_with(target.node());
  }

  ~queue_session() {
    // The acks of what it fetched go before its end does (see ack_batcher).
    if (auto* rt = current_runtime(); rt && tracked_)
      rt->acks()->send_of(caf::actor_cast<caf::actor>(self));
  }

  void put(queue_item item, std::int64_t timeout) {
    std::lock_guard<std::mutex> guard{mtx};
    check_open_here();
    check();
    if (closed_)
      throw error(errc::closed, "proctor: the queue is closed");
    auto* rt = current_runtime();
    // Acks go before later puts: a consumer that passed an item on (put its
    // result somewhere) never has it delivered again, even if killed now.
    if (rt)
      rt->send_acks();
    auto limit = rt ? rt->max_frame_size() : 0u;
    // Shared memory counts unless it reaches the queue as such.
    auto size = shares_memory_ ? item.data.size() : wire_size(item);
    if (limit != 0 && size + envelope > limit)
      throw error(errc::frame_too_large,
                  "proctor: a queue item of " + std::to_string(size)
                    + " bytes exceeds the maximum frame size of " + std::to_string(limit)
                    + " bytes (--proctor.max-frame-size); the queue is unchanged");
    if (timeout == wait_forever) {
      if (!feeder_) {
        // A bounded queue's producers pipeline no more than the queue holds.
        auto window = maxsize_ == 0 ? put_window : std::min<std::size_t>(put_window, maxsize_);
        auto batch = limit == 0 ? put_batch_bytes : std::min(put_batch_bytes, limit - envelope);
        feeder_ = queue_feeder::of(self->system(), target, window, batch);
      }
      noting_closed([&] { feeder_->put(std::move(item)); });
      return;
    }
    // A timed or non-blocking put answers for itself: earlier puts go first.
    await_all_put_done();
    noting_closed([&] {
      ask_done(put_atom::value, timeout, std::move(item.data), segment_list{std::move(item.segments)});
    });
  }

  queue_item get(std::int64_t timeout) {
    std::lock_guard<std::mutex> guard{mtx};
    check_open_here();
    // One step: take an item another thread fetched, or count as fetching.
    // Apart, a batch kept in between would sit here while this thread waits
    // at the queue for good (keep_fetched gives it back only to a counted
    // fetcher).
    if (auto next = take_fetched_or_count())
      return returned(std::move(next->item), next->fetcher);
    struct done_fetching {
      fetched_items& f;
      ~done_fetching() {
        std::lock_guard<std::mutex> shared{f.mtx};
        --f.fetching;
      }
    } fetching{*fetched_};
    check();
    auto max = tracked_ ? tracked_fetch : untracked_fetch;
    std::tuple<item_bytes, segment_list> reply;
    noting_closed([&] { reply = ask2<item_bytes, segment_list>(get_atom::value, timeout, max); });
    std::vector<delivery> batch;
    auto& [records, segments] = reply;
    if (!decode_batch(records, segments.refs, batch) || batch.empty())
      throw error(errc::malformed_payload, "proctor: a queue reply does not decode");
    auto me = caf::actor_cast<caf::actor>(self);
    keep_fetched(batch, me);
    return returned(std::move(batch.front()), me);
  }
  /// The items in the queue, this process's puts so far included, and
  /// those its handle fetched ahead (a bounded queue counts those itself).
  std::tuple<std::uint64_t, std::uint64_t, bool> size() {
    std::lock_guard<std::mutex> guard{mtx};
    // This process's puts and acks so far arrive before the question does.
    if (auto feeder = queue_feeder::existing(target))
      feeder->send_now();
    if (auto* rt = current_runtime())
      rt->send_acks();
    auto result = size_unlocked();
    if (!tracked_) {
      std::lock_guard<std::mutex> shared{fetched_->mtx};
      std::get<0>(result) += fetched_->items.size();
    }
    return result;
  }

  std::tuple<std::uint64_t, std::uint64_t, bool> size_unlocked() {
    check();
    std::tuple<std::uint64_t, std::uint64_t, bool> result;
    self->request(target, caf::infinite, size_atom::value)
      .receive([&](std::uint64_t n, std::uint64_t max,
                   bool closed) { result = {n, max, closed}; },
               [&](caf::error& err) { fail(err); });
    return result;
  }

  void task_done() {
    std::lock_guard<std::mutex> guard{mtx};
    check();
    ask_done(task_done_atom::value);
  }

  void shutdown(bool immediate) {
    std::lock_guard<std::mutex> guard{mtx};
    check();
    // This process's puts so far go in first (unless they are discarded).
    if (auto feeder = queue_feeder::existing(target))
      feeder->send_now();
    ask_done(close_atom::value, immediate);
    closed_ = true;
  }

  /// close(): this process puts and gets no more; what it put still goes.
  void close_here() {
    closed_here_->store(true);
    if (auto feeder = queue_feeder::existing(target))
      feeder->send_now();
  }

  /// join_thread(): waits until every put of this process is in the queue,
  /// and throws if the queue refused one.
  void await_puts() {
    if (!closed_here_->load())
      throw error(errc::invalid_state, "proctor: join_thread() before close()");
    std::lock_guard<std::mutex> guard{mtx};
    if (auto feeder = queue_feeder::existing(target))
      noting_closed([&] { feeder->await_admitted(); });
  }

  bool join(std::int64_t timeout) {
    std::lock_guard<std::mutex> guard{mtx};
    check();
    await_all_put_done();
    try {
      ask_done(join_atom::value, timeout);
      return true;
    } catch (const timeout_error&) {
      return false;
    }
  }

private:
  std::optional<fetched_items::entry> take_fetched_or_count() {
    std::lock_guard<std::mutex> shared{fetched_->mtx};
    if (fetched_->items.empty()) {
      ++fetched_->fetching;
      return std::nullopt;
    }
    auto next = std::move(fetched_->items.front());
    fetched_->items.pop_front();
    return next;
  }

  /// Keeps all but the first of `batch` for this handle's next gets, or, if
  /// another thread is waiting at the queue meanwhile, gives them back to
  /// the queue's head so that it gets them.
  void keep_fetched(std::vector<delivery>& batch, const caf::actor& me) {
    if (batch.size() < 2)
      return;
    std::lock_guard<std::mutex> shared{fetched_->mtx};
    if (fetched_->fetching > 1) {
      std::vector<delivery> rest{std::make_move_iterator(batch.begin() + 1),
                                 std::make_move_iterator(batch.end())};
      auto back = encode_batch(rest);
      self->send(target, return_atom::value, std::move(back.records), std::move(back.segments));
    } else {
      for (auto i = batch.begin() + 1; i != batch.end(); ++i)
        fetched_->items.push_back({std::move(*i), me});
    }
    batch.resize(1);
  }

  /// get() returns `d` to user code: it leaves the queue for good.
  queue_item returned(delivery d, const caf::actor& fetcher) {
    // A bounded queue counts an unacked item against its room, and a
    // caller may look at full() or put at once: its acks go now. An
    // unbounded one's acks only settle what a dead consumer gives back.
    if (!tracked_)
      ;
    else if (auto* rt = current_runtime(); rt && maxsize_ == 0)
      rt->acks()->ack(fetcher, target, d.id);
    else
      caf::send_as(fetcher, target, ack_atom::value, d.id);
    return std::move(d.item);
  }

  /// Runs `f`, remembering a closed queue so later puts fail at once.
  template <class F>
  void noting_closed(F f) {
    try {
      f();
    } catch (const error& e) {
      if (e.code() == errc::closed)
        closed_ = true;
      throw;
    }
  }

  void check_open_here() {
    if (closed_here_->load())
      throw error(errc::invalid_state,
                  "proctor: the queue was closed in this process (close()): it puts and "
                  "gets no more here");
  }

  /// Waits until every pipelined put of this process is admitted.
  void await_all_put_done() {
    if (feeder_)
      noting_closed([&] { feeder_->await_admitted(); });
  }

  std::uint64_t maxsize_ = 0;
  bool tracked_ = true; ///< each item returned is acked (see tracks_deliveries)
  /// The queue gets shared memory as such: it is here, or behind a link
  /// that passes descriptors.
  bool shares_memory_ = false;
  std::shared_ptr<queue_feeder> feeder_; ///< made by the first pipelined put
  std::shared_ptr<fetched_items> fetched_;
  std::shared_ptr<std::atomic<bool>> closed_here_;
  bool closed_ = false; ///< known shut down: puts fail at once
};

class queue_client : public per_thread<queue_session> {
public:
  using per_thread::per_thread;

  ~queue_client() {
    give_back_fetched();
  }

  void close_here() {
    mine().close_here();
    give_back_fetched();
  }

private:
  /// Gives back what this handle fetched and get() never returned, each item
  /// from the session that fetched it (sessions are still alive here).
  void give_back_fetched() {
    std::map<caf::actor, std::vector<delivery>> by_fetcher;
    {
      std::lock_guard<std::mutex> shared{shared_->mtx};
      for (auto& e : shared_->items)
        by_fetcher[e.fetcher].push_back(std::move(e.item));
      shared_->items.clear();
    }
    for (auto& [fetcher, unreturned] : by_fetcher) {
      auto back = encode_batch(unreturned);
      caf::send_as(fetcher, target(), return_atom::value, std::move(back.records),
                   std::move(back.segments));
    }
  }
};

std::mutex& client_creation_mutex() {
  static std::mutex instance;
  return instance;
}

// -- queue_base ---------------------------------------------------------------

queue_base::queue_base(runtime& rt, std::size_t maxsize)
  : handle_(spawn_queue(rt.system(), maxsize, delivery_batch_bytes(rt))) {
  internal::impl_of(rt).own(handle_);
}

queue_client& queue_base::client() const {
  if (!handle_)
    throw error(errc::invalid_state, "proctor: an invalid queue handle");
  return lazily_made(client_, handle_);
}

void queue_base::put_item(encoded_item item, wait_mode mode,
                          std::chrono::milliseconds timeout) {
  client().mine().put(std::move(item), wire_timeout(mode, timeout));
}

encoded_item queue_base::get_item(wait_mode mode, std::chrono::milliseconds timeout) {
  return client().mine().get(wire_timeout(mode, timeout));
}

std::size_t queue_base::qsize() const {
  return static_cast<std::size_t>(std::get<0>(client().mine().size()));
}

bool queue_base::empty() const {
  return qsize() == 0;
}

bool queue_base::full() const {
  auto [n, max, closed] = client().mine().size();
  return max != 0 && n >= max;
}

void queue_base::close() {
  client().close_here();
}

void queue_base::join_thread() {
  client().mine().await_puts();
}

void queue_base::shutdown(bool immediate) {
  client().mine().shutdown(immediate);
}

void queue_base::task_done_impl() {
  client().mine().task_done();
}

bool queue_base::join_impl(std::optional<std::chrono::milliseconds> timeout) {
  return client().mine().join(timeout ? std::max<std::int64_t>(timeout->count(), 0) : wait_forever);
}

} // namespace proctor::internal
