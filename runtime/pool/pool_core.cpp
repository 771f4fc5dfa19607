// The pool's supervisor (see pool_core.hpp): its inbox, the blocking API,
// and the outbox that sends to workers outside the pool's mutex.
#include "runtime/pool/pool_core.hpp"

#include <csignal>
#include <functional>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/default_attachable.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <caf/system_messages.hpp>
#include <caf/type_erased_tuple.hpp>

#include "runtime/pool/pool_protocol.hpp"
#include "runtime/core/heap_trimmer.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

using completion = std::function<void()>;

} // namespace proctor::internal

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(proctor::internal::completion)

namespace proctor::internal {

namespace {

/// The pool's address: an actor without a mailbox of its own, which hands
/// every message to the pool on the sender's thread, as CAF's proxies do.
class pool_inbox final : public caf::monitorable_actor {
public:
  pool_inbox(caf::actor_config& cfg, std::weak_ptr<pool_core> core)
    : caf::monitorable_actor(cfg), core_(std::move(core)) {
  }

  const char* name() const override {
    return "proctor.pool";
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what)
      return;
    auto msg = what->move_content_to_message();
    if (auto core = core_.lock()) {
      core->receive(msg, what->sender);
      return;
    }
    // The pool is gone: a worker that came up after it is not needed.
    if (msg.match_elements<worker_up_atom, std::uint64_t, caf::actor,
                           std::shared_ptr<worker_process>>())
      msg.get_as<std::shared_ptr<worker_process>>(3)->signal(SIGKILL);
  }

  void retire() {
    cleanup(caf::exit_reason::user_shutdown, nullptr);
  }

private:
  std::weak_ptr<pool_core> core_;
};

caf::behavior run_callbacks(caf::event_based_actor*, int) {
  return {[](completion& f) { f(); }};
}

} // namespace

std::shared_ptr<pool_core> pool_core::make(runtime_impl& rt, pool_options options) {
  auto core = std::make_shared<pool_core>(rt, std::move(options));
  core->start();
  return core;
}

pool_core::pool_core(runtime_impl& rt, pool_options options)
  : rt_(rt),
    options_(std::move(options)),
    batch_bytes_(batch_limit(rt.max_frame_size())),
    intensity_(options_.max_restarts, options_.restart_period),
    trimmer_(rt.trimmer()) {
}

pool_core::~pool_core() = default;

void pool_core::start() {
  caf::actor_config cfg;
  auto& sys = rt_.system();
  inbox_ = caf::make_actor<pool_inbox, caf::actor>(sys.next_actor_id(), sys.node(), &sys, cfg,
                                                   weak_from_this());
  guard_type guard{mtx_};
  for (std::size_t i = 0; i < options_.processes; ++i)
    start_slot({});
  for (auto& node : options_.nodes) {
    auto count = options_.processes_per_node;
    if (count == 0)
      count = rt_.node_cores(node).value_or(0);
    for (std::size_t i = 0; i < count; ++i)
      start_slot(node);
  }
}

void pool_core::shutdown() {
  terminate();
  // Killed workers are reaped at once; the bound only guards against a bug.
  try {
    if (!join(std::chrono::steady_clock::now() + std::chrono::seconds{30}))
      log("pool", log_level::error, "a terminated pool's workers did not end within 30 s");
  } catch (const std::exception& e) {
    log("pool", log_level::error, "ending a pool: ", e.what());
  }
  static_cast<pool_inbox*>(caf::actor_cast<caf::abstract_actor*>(inbox_))->retire();
  guard_type guard{mtx_};
  if (callbacks_)
    caf::anon_send_exit(callbacks_, caf::exit_reason::user_shutdown);
}

// -- the blocking API -------------------------------------------------------------

void pool_core::check_open() const {
  if (broken_)
    throw pool_broken(*broken_);
  if (terminated_)
    throw pool_terminated("proctor: the pool was terminated");
  if (closed_)
    throw error(errc::invalid_state, "proctor: the pool is closed");
}

std::optional<std::string> pool_core::too_large(const chunk& c) const {
  if (c.args.size() + c.entry->name.size() + record_overhead <= rt_.max_frame_size())
    return std::nullopt;
  return "proctor: a task's arguments (" + std::to_string(c.args.size())
         + " bytes) exceed the frame limit (--proctor.max-frame-size, "
         + std::to_string(rt_.max_frame_size()) + " bytes)";
}

void pool_core::submit(std::shared_ptr<result_state> result, std::vector<chunk> chunks) {
  {
    guard_type guard{mtx_};
    check_open();
    for (auto& c : chunks)
      if (auto why = too_large(c))
        throw error(errc::frame_too_large, *why);
    enqueue(result, chunks);
    dispatch();
  }
  if (auto trimmer = trimmer_.lock())
    trimmer->busy();
  flush();
}

void pool_core::submit_each(std::vector<std::shared_ptr<result_state>>& results,
                            std::vector<chunk>& chunks) {
  std::vector<std::pair<std::shared_ptr<result_state>, std::string>> refused;
  {
    guard_type guard{mtx_};
    check_open();
    std::vector<chunk> one(1);
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      if (auto why = too_large(chunks[i])) {
        refused.emplace_back(results[i], std::move(*why));
        continue;
      }
      one[0] = std::move(chunks[i]);
      enqueue(results[i], one);
    }
    dispatch();
  }
  // Outside the lock: completing runs the result's callback.
  for (auto& [result, why] : refused) {
    result->record_failure(0, {errc::frame_too_large, {}, std::move(why)});
    result->complete(0, {});
  }
  if (auto trimmer = trimmer_.lock())
    trimmer->busy();
  flush();
}

double pool_core::task_us() {
  guard_type guard{mtx_};
  return task_us_;
}

void pool_core::close() {
  {
    guard_type guard{mtx_};
    closed_ = true;
    settle();
  }
  flush();
}

void pool_core::terminate() {
  {
    guard_type guard{mtx_};
    if (!terminated_) {
      terminated_ = true;
      fail_all(errc::pool_terminated, "proctor: the pool was terminated");
      kill_workers();
    }
    settle();
  }
  flush();
}

bool pool_core::join(std::optional<std::chrono::steady_clock::time_point> deadline) {
  guard_type guard{mtx_};
  if (!closed_ && !terminated_)
    throw error(errc::invalid_state, "proctor: join() before close() or terminate()");
  auto done = [this] { return over() && workers_.empty() && callbacks_pending_ == 0; };
  if (!deadline) {
    ended_.wait(guard, done);
    return true;
  }
  return ended_.wait_until(guard, *deadline, done);
}

pool_stats pool_core::stats() {
  guard_type guard{mtx_};
  auto s = stats_;
  s.running = 0;
  s.workers_alive = 0;
  for (auto& [id, w] : workers_) {
    s.running += w.in_flight.empty() ? 0 : 1;
    if (w.state == phase::ready || w.state == phase::initializing)
      ++s.workers_alive;
  }
  return s;
}

// -- the inbox ----------------------------------------------------------------------

void pool_core::receive(caf::message& msg, const caf::strong_actor_ptr& sender) {
  if (msg.match_elements<caf::down_msg>()) {
    auto& down = msg.get_as<caf::down_msg>(0);
    {
      guard_type guard{mtx_};
      on_worker_down(down.source, down.reason);
    }
  } else if (msg.match_elements<pool_result_atom, std::vector<char>, segment_list>()) {
    guard_type guard{mtx_};
    on_results(sender, msg.get_as<std::vector<char>>(1), msg.get_as<segment_list>(2).refs);
  } else if (msg.match_elements<worker_up_atom, std::uint64_t, caf::actor,
                                std::shared_ptr<worker_process>>()) {
    on_worker_up(msg.get_as<std::uint64_t>(1), msg.get_as<caf::actor>(2),
                 msg.get_as<std::shared_ptr<worker_process>>(3));
  } else if (msg.match_elements<pool_ready_atom>()) {
    on_init_answer(sender, std::nullopt);
  } else if (msg.match_elements<pool_failed_atom, std::uint64_t, std::uint8_t, std::string,
                                std::string>()) {
    on_init_answer(sender, msg.get_as<std::string>(3) + ": " + msg.get_as<std::string>(4));
  } else if (msg.match_elements<start_failed_atom, std::uint64_t, std::string, bool>()) {
    guard_type guard{mtx_};
    on_start_failed(msg.get_as<std::uint64_t>(1), msg.get_as<std::string>(2),
                    msg.get_as<bool>(3));
  } else {
    log("pool", log_level::warning, "the pool ignored an unexpected message: ", to_string(msg));
    return;
  }
  flush();
}

void pool_core::on_worker_up(std::uint64_t slot, caf::actor handle,
                             std::shared_ptr<worker_process> child) {
  {
    guard_type guard{mtx_};
    auto& w = workers_.at(slot);
    w.handle = handle;
    w.child = child;
    slot_of_[handle.address()] = slot;
    if (terminated_ || broken_) {
      child->signal(SIGKILL);
    } else if (options_.initializer) {
      w.state = phase::initializing;
      auto& init = options_.initializer->bound;
      post(handle, caf::make_message(pool_init_atom::value, init.entry->name, init.args));
    } else {
      w.state = phase::ready;
      dispatch();
    }
    settle();
  }
  // Outside the mutex: if the worker is gone already, its down message
  // arrives on this thread, right here.
  auto* observed = caf::actor_cast<caf::abstract_actor*>(handle);
  observed->attach(caf::default_attachable::make_monitor(handle.address(), inbox_.address()));
}

void pool_core::on_init_answer(const caf::strong_actor_ptr& sender,
                               std::optional<std::string> failure) {
  guard_type guard{mtx_};
  auto s = slot_of_.find(caf::actor_cast<caf::actor_addr>(sender));
  if (s == slot_of_.end())
    return;
  auto& w = workers_.at(s->second);
  if (failure) {
    // The worker ends itself; its down message restarts it.
    w.init_failure = std::move(failure);
    return;
  }
  if (w.state == phase::initializing)
    w.state = phase::ready;
  dispatch();
}

// -- results and failures -----------------------------------------------------------

void pool_core::complete(pool_task& task, std::vector<char> bytes, segment_refs segments) {
  auto result = task.result;
  auto part = task.part;
  if (!result->has_callback()) {
    result->complete(part, std::move(bytes), std::move(segments));
    return;
  }
  // A callback is user code: it must neither run under the pool's mutex nor
  // hold up the io thread.
  if (!callbacks_)
    callbacks_ = rt_.system().spawn<caf::detached>(run_callbacks, 0); // 0: see call_ignoring_tag
  // join() waits for the callbacks of the results in so far, as Python's
  // join() does for its result handler thread.
  ++callbacks_pending_;
  caf::anon_send(callbacks_, completion{[result, part, bytes = std::move(bytes),
                                         segments = std::move(segments),
                                         core = weak_from_this()]() mutable {
                   result->complete(part, std::move(bytes), std::move(segments));
                   if (auto self = core.lock()) {
                     guard_type guard{self->mtx_};
                     if (--self->callbacks_pending_ == 0)
                       self->ended_.notify_all();
                   }
                 }});
}

void pool_core::fail_task(std::uint64_t id, task_failure why) {
  auto i = tasks_.find(id);
  if (i == tasks_.end())
    return;
  auto task = std::move(i->second);
  tasks_.erase(i);
  ++stats_.failed;
  task.result->record_failure(task.part, std::move(why));
  complete(task, {});
}

/// Fails every unfinished task with `code` and `text`.
void pool_core::fail_all(errc code, const std::string& text) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, task] : tasks_)
    ids.push_back(id);
  for (auto id : ids)
    fail_task(id, {code, {}, text});
  pending_.clear();
  for (auto& [id, w] : workers_) {
    w.in_flight.clear();
    w.batch.clear();
  }
}

// -- sending ------------------------------------------------------------------------

/// Queues `msg` for `to`; sent by flush() once the mutex is released, since
/// a send may wait for room in the connection, and the io thread that makes
/// the room needs the mutex for the results it reads.
void pool_core::post(const caf::actor& to, caf::message msg) {
  outbox_.emplace_back(to, std::move(msg));
}

void pool_core::flush() {
  std::deque<std::pair<caf::actor, caf::message>> sending;
  auto sender = caf::actor_cast<caf::strong_actor_ptr>(inbox_);
  bool sends = false; // this thread is the one that sends
  for (;;) {
    {
      guard_type guard{mtx_};
      if (!sends && flushing_)
        return; // the thread that sends takes this queue's messages too
      if (outbox_.empty()) {
        if (sends)
          flushing_ = false;
        return;
      }
      flushing_ = sends = true;
      sending.swap(outbox_);
    }
    std::size_t sent = 0;
    try {
      for (; sent < sending.size(); ++sent) {
        auto& [to, msg] = sending[sent];
        caf::actor_cast<caf::abstract_actor*>(to)->enqueue(
          caf::make_mailbox_element(sender, caf::make_message_id(), {}, msg), nullptr);
      }
    } catch (...) {
      // What was not sent goes back to the front, in order, for the next
      // caller; the message whose send threw counts as not sent.
      guard_type guard{mtx_};
      outbox_.insert(outbox_.begin(), sending.begin() + sent, sending.end());
      flushing_ = false;
      throw;
    }
    sending.clear();
  }
}

} // namespace proctor::internal
