// A process's side of a queue: one scoped actor per queue and process that
// pipelines puts, fetches items ahead in batches and acks each one as get()
// returns it.
#include "proctor/queue.hpp"

#include <deque>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/queue_actor.hpp"
#include "proctor/runtime.hpp"
#include "runtime/actor_client.hpp"
#include "runtime/runtime_impl.hpp"

namespace proctor::internal {

namespace {

constexpr std::size_t put_window = 64;   ///< pipelined puts per producer
constexpr std::uint32_t fetch_ahead = 32; ///< items a get may bring at once
/// Room for the message around an item, below the maximum frame size.
constexpr std::size_t envelope = 4096;

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

class queue_session : public actor_client {
public:
  queue_session(caf::actor_system& sys, caf::actor queue,
                std::shared_ptr<channel_failure> failure)
    : actor_client(sys, std::move(queue), "queue", std::move(failure)) {
    // A bounded queue's producer pipelines no more than the queue holds.
    auto max = std::get<1>(size_unlocked());
    window_ = max == 0 ? put_window : std::min<std::size_t>(put_window, max);
  }

  ~queue_session() {
    if (!fetched_.empty()) {
      std::vector<delivery> unreturned{std::make_move_iterator(fetched_.begin()),
                                       std::make_move_iterator(fetched_.end())};
      self->send(target, return_atom::value, encode_batch(unreturned));
    }
  }

  void put(item_bytes item, std::int64_t timeout) {
    std::lock_guard<std::mutex> guard{mtx};
    check();
    if (closed_)
      throw_unless_ok(errc::closed);
    auto limit = current_runtime() ? current_runtime()->max_frame_size() : 0u;
    if (limit != 0 && item.size() + envelope > limit)
      throw error(errc::frame_too_large,
                  "proctor: a queue item of " + std::to_string(item.size())
                    + " bytes exceeds the maximum frame size of " + std::to_string(limit)
                    + " bytes (--proctor.max-frame-size); the queue is unchanged");
    if (timeout == wait_forever) {
      while (in_flight_ >= window_)
        receive_put_done();
      // Ask for a report every half window: a full window always has one
      // on its way.
      bool ack = ++sent_ % std::max<std::size_t>(window_ / 2, 1) == 0;
      self->send(target, put_async_atom::value, std::move(item), ack);
      ++in_flight_;
      return;
    }
    // A timed or non-blocking put answers for itself: earlier puts go first.
    await_all_put_done();
    auto code = request_code(put_atom::value, timeout, std::move(item));
    if (code == errc::queue_full)
      throw queue_full("proctor: the queue is full");
    throw_unless_ok(code);
  }

  item_bytes get(std::int64_t timeout) {
    std::lock_guard<std::mutex> guard{mtx};
    if (fetched_.empty()) {
      check();
      std::uint8_t code = 0;
      item_bytes blob;
      self->request(target, caf::infinite, get_atom::value, timeout, fetch_ahead)
        .receive(
          [&](std::uint8_t c, item_bytes& b) {
            code = c;
            blob = std::move(b);
          },
          [&](caf::error& err) { fail(err); });
      if (code == static_cast<std::uint8_t>(errc::queue_empty))
        throw queue_empty("proctor: the queue is empty");
      throw_unless_ok(static_cast<errc>(code));
      std::vector<delivery> batch;
      if (!decode_batch(blob, batch) || batch.empty())
        throw error(errc::malformed_payload, "proctor: a queue reply does not decode");
      fetched_.assign(std::make_move_iterator(batch.begin()),
                      std::make_move_iterator(batch.end()));
    }
    auto next = std::move(fetched_.front());
    fetched_.pop_front();
    // Returned to user code: the item leaves the queue for good.
    self->send(target, ack_atom::value, next.id);
    return std::move(next.item);
  }

  std::tuple<std::uint64_t, std::uint64_t, bool> size() {
    std::lock_guard<std::mutex> guard{mtx};
    return size_unlocked();
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

  void simple(caf::atom_value op) {
    std::lock_guard<std::mutex> guard{mtx};
    check();
    await_all_put_done();
    std::uint8_t code = 0;
    self->request(target, caf::infinite, op)
      .receive([&](std::uint8_t c) { code = c; }, [&](caf::error& err) { fail(err); });
    if (code == static_cast<std::uint8_t>(errc::invalid_state))
      throw error(errc::invalid_state, "proctor: task_done() called too many times");
    if (op == close_atom::value)
      closed_ = true;
    throw_unless_ok(static_cast<errc>(code));
  }

  bool join(std::int64_t timeout) {
    std::lock_guard<std::mutex> guard{mtx};
    check();
    await_all_put_done();
    auto code = request_code(join_atom::value, timeout);
    if (code == errc::timeout)
      return false;
    throw_unless_ok(code);
    return true;
  }

private:
  template <class... Ts>
  errc request_code(Ts&&... xs) {
    return static_cast<errc>(ask<std::uint8_t>(std::forward<Ts>(xs)...));
  }

  /// Waits for one report of admitted pipelined puts.
  void receive_put_done() {
    errc code = errc::ok;
    std::uint32_t count = 0;
    self->receive(
      [&](put_done_atom, std::uint8_t c, std::uint32_t n) {
        code = static_cast<errc>(c);
        count = n;
      },
      [&](caf::down_msg& msg) {
        fail(msg.reason ? msg.reason : caf::make_error(caf::sec::remote_linking_failed));
      });
    in_flight_ -= std::min<std::size_t>(count, in_flight_);
    throw_unless_ok(code);
  }

  /// Waits until every pipelined put of this session is admitted.
  void await_all_put_done() {
    if (in_flight_ == 0)
      return;
    self->send(target, put_flush_atom::value);
    while (in_flight_ > 0)
      receive_put_done();
  }

  void throw_unless_ok(errc code) {
    if (code == errc::ok)
      return;
    if (code == errc::closed) {
      closed_ = true;
      throw error(errc::closed, "proctor: the queue is closed");
    }
    throw error(code, std::string{"proctor: queue: "} + to_string(code));
  }

  std::size_t in_flight_ = 0; ///< pipelined puts not yet reported admitted
  std::size_t sent_ = 0;
  std::size_t window_ = put_window;
  std::deque<delivery> fetched_;
  bool closed_ = false; ///< known closed: puts fail at once
};

class queue_client : public per_thread<queue_session> {
public:
  using per_thread::per_thread;
};

std::mutex& client_creation_mutex() {
  static std::mutex instance;
  return instance;
}

// -- queue_base ---------------------------------------------------------------

queue_base::queue_base(runtime& rt, std::size_t maxsize)
  : handle_(spawn_queue(rt.system(), maxsize)) {
  rt.impl().own(handle_);
}

queue_client& queue_base::client() const {
  if (!handle_)
    throw error(errc::invalid_state, "proctor: an invalid queue handle");
  return lazily_made(client_, handle_);
}

void queue_base::put_bytes(std::vector<char> item, wait_mode mode,
                           std::chrono::milliseconds timeout) {
  client().mine().put(std::move(item), wire_timeout(mode, timeout));
}

std::vector<char> queue_base::get_bytes(wait_mode mode, std::chrono::milliseconds timeout) {
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
  client().mine().simple(close_atom::value);
}

void queue_base::task_done_impl() {
  client().mine().simple(task_done_atom::value);
}

bool queue_base::join_impl(std::optional<std::chrono::milliseconds> timeout) {
  return client().mine().join(timeout ? std::max<std::int64_t>(timeout->count(), 0) : wait_forever);
}

} // namespace proctor::internal
