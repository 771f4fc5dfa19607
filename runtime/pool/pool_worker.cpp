// The actor a pool's worker process hosts: it runs the tasks it is sent, one
// after another, on its own thread (a task may block for as long as it
// likes), and answers each with its results or the exception it threw.
// Results are sent in batches: whenever no more tasks are waiting, and at
// least every `flush_span` while they are, so that a slow task's result is
// never held back by the tasks behind it.
//
// Its mailbox is its own, not a CAF actor's: the io thread hands it a batch
// and wakes its thread after releasing the lock (CAF's blocking mailbox
// wakes the reader while still holding it, which costs every task a second
// wake-up on the way in).
#include "runtime/pool/pool_protocol.hpp"
#include "transport/base/segment_pool.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <atomic>
#include <deque>
#include <thread>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>

#include "proctor/actor.hpp"
#include "proctor/errc.hpp"
#include "proctor/task.hpp"
#include "actors/wire/segments.hpp"
#include "runtime/core/heap_trimmer.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor::internal {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto flush_span = std::chrono::microseconds{200};

/// What a task's failure looks like on the wire.
struct failure {
  errc code = errc::remote_error;
  std::string type;
  std::string what;
};

/// Runs `f`; a thrown exception becomes a failure instead.
template <class F>
std::optional<failure> catching(F f) {
  try {
    f();
    return std::nullopt;
  } catch (const error& e) {
    // proctor's own errors keep their code: the caller catches a
    // queue_empty thrown in a task as queue_empty, as in the master.
    return failure{e.code() == errc::ok ? errc::remote_error : e.code(), demangled(typeid(e)),
                   e.what()};
  } catch (const std::exception& e) {
    return failure{errc::remote_error, demangled(typeid(e)), e.what()};
  } catch (...) {
    return failure{errc::remote_error, "unknown", "an exception of unknown type"};
  }
}

const task_entry& registered(const std::string& name) {
  auto* entry = find_task(name);
  if (entry == nullptr)
    throw error(errc::unregistered_task, "no PROCTOR_TASK named " + name + " in this binary");
  return *entry;
}

/// The pool worker: an actor whose messages a thread of its own runs.
class pool_worker final : public caf::monitorable_actor {
public:
  explicit pool_worker(caf::actor_config& cfg) : caf::monitorable_actor(cfg) {
  }

  const char* name() const override {
    return pool_worker_actor;
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what)
      return;
    bool wake;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (ended_)
        return;
      mailbox_.push_back(std::move(what));
      wake = waiting_;
    }
    if (wake) {
      arrivals_.fetch_add(1, std::memory_order_release);
      arrivals_.notify_one();
    }
  }

  /// The worker's thread: runs until pl_stop, a failed initializer or a
  /// batch that does not decode.
  void run() {
    caf::error reason = caf::exit_reason::normal;
    for (bool running = true; running;) {
      auto next = take();
      auto& msg = next->content();
      reply_to_ = next->sender;
      if (msg.match_elements<pool_run_atom, std::vector<char>, segment_list>()) {
        if (!run_batch(msg.get_as<std::vector<char>>(1), msg.get_as<segment_list>(2).refs)) {
          reason = caf::exit_reason::unhandled_exception;
          running = false;
        }
      } else if (msg.match_elements<pool_init_atom, std::string, std::string>()) {
        running = initialize(msg.get_as<std::string>(1), msg.get_as<std::string>(2));
        if (!running)
          reason = caf::exit_reason::user_shutdown;
      } else if (msg.match_elements<pool_stop_atom>()) {
        running = false;
      }
    }
    flush();
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ended_ = true;
      mailbox_.clear();
    }
    cleanup(std::move(reason), nullptr);
  }

private:
  /// The next message; before waiting for one, sends the results so far.
  caf::mailbox_element_ptr take() {
    std::unique_lock<std::mutex> guard{mtx_};
    if (mailbox_.empty()) {
      guard.unlock();
      // Tasks already waiting run before the results so far are sent: one
      // message then answers them all.
      flush();
      auto trimmer = trimmer_.lock();
      if (trimmer)
        trimmer->idle(std::exchange(bytes_moved_, 0));
      guard.lock();
      while (mailbox_.empty()) {
        waiting_ = true;
        auto seen = arrivals_.load(std::memory_order_acquire);
        guard.unlock();
        arrivals_.wait(seen, std::memory_order_acquire);
        guard.lock();
      }
      waiting_ = false;
      if (trimmer)
        trimmer->busy();
    }
    auto next = std::move(mailbox_.front());
    mailbox_.pop_front();
    return next;
  }

  void send(caf::message msg) {
    if (reply_to_)
      reply_to_->enqueue(caf::make_mailbox_element(caf::actor_cast<caf::strong_actor_ptr>(this),
                                                   caf::make_message_id(), {}, std::move(msg)),
                         nullptr);
  }

  /// The initializer: false if it threw (the worker then ends).
  bool initialize(const std::string& task, const std::string& args) {
    auto failed = catching([&] { registered(task).run(args); });
    if (!failed) {
      send(caf::make_message(pool_ready_atom::value));
      return true;
    }
    send(caf::make_message(pool_failed_atom::value, std::uint64_t{0},
                           static_cast<std::uint8_t>(failed->code), failed->type,
                           failed->what));
    return false;
  }

  /// False if the batch does not decode: only a peer that is not this
  /// binary's master could send one, and its tasks cannot be answered, so
  /// the worker ends and the pool sees it die.
  bool run_batch(const std::vector<char>& batch, const segment_refs& segments) {
    bytes_moved_ += batch.size();
    batch_reader reader{batch};
    task_record task;
    while (reader.next(task)) {
      // Results held back while a slow task runs would come late to the
      // caller and would make the pool take the slow task's time for theirs.
      result_record r{task.id};
      const task_entry* entry = nullptr;
      auto failed = catching([&] { entry = &registered(task.name); });
      auto& usual_us = run_us_of_[entry];
      if (usual_us >= static_cast<double>(flush_span.count()))
        flush();
      auto start = clock_type::now();
      segment_sink shared_out;
      shared_out.lends = true; // results go back to the parent, lent
      if (!failed)
        failed = catching([&] {
          refs_source shared_in{segments, task.segment_base, task.segment_count};
          r.bytes = entry->call(task.args, task.count, shared_in, shared_out);
        });
      auto end = clock_type::now();
      auto took = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
      r.run_us = static_cast<std::uint32_t>(std::min<std::int64_t>(took, UINT32_MAX));
      usual_us = 0.8 * usual_us + 0.2 * static_cast<double>(r.run_us);
      if (!failed && r.bytes.size() + record_overhead > max_frame_size_)
        failed = failure{errc::frame_too_large, "proctor::error",
                         "the task's results (" + std::to_string(r.bytes.size())
                           + " bytes) exceed the frame limit (--proctor.max-frame-size, "
                           + std::to_string(max_frame_size_) + " bytes)"};
      if (failed) {
        r.code = static_cast<std::uint8_t>(failed->code);
        r.type = std::move(failed->type);
        r.what = std::move(failed->what);
        r.bytes.clear();
        shared_out.refs.clear();
        // An exception's text is cut to fit a frame, never dropped with it.
        auto text_room = (max_frame_size_ - std::min(max_frame_size_, record_overhead)) / 2;
        if (r.type.size() > text_room)
          r.type.resize(text_room);
        if (r.what.size() > text_room)
          r.what.resize(text_room);
      }
      // A result that would take the batch past the frame limit starts the
      // next one; one alone always fits (checked above).
      if (!results_.empty()
          && results_.size() + r.bytes.size() + r.type.size() + r.what.size() + 32
               > batch_bytes_)
        flush();
      r.segment_base = static_cast<std::uint32_t>(result_segments_.size());
      r.segment_count = static_cast<std::uint32_t>(shared_out.refs.size());
      result_segments_.insert(result_segments_.end(), shared_out.refs.begin(),
                              shared_out.refs.end());
      // Shared memory counts: over a node's TCP link it travels inline.
      results_shared_ += content_size(shared_out.refs);
      append_result(results_, r);
      if (end - last_flush_ >= flush_span || results_.size() + results_shared_ >= batch_bytes_)
        flush();
    }
    return !reader.malformed();
  }

  void flush() {
    last_flush_ = clock_type::now();
    bytes_moved_ += results_.size() + results_shared_;
    if (results_.empty())
      return;
    send(caf::make_message(pool_result_atom::value, std::move(results_),
                           segment_list{std::move(result_segments_), true}));
    results_.clear();
    result_segments_.clear();
    results_shared_ = 0;
  }

  std::mutex mtx_;
  /// Bumped by a message for a waiting thread: an atomic's wait and notify
  /// cost one futex call each, a condition variable's three.
  std::atomic<std::uint32_t> arrivals_{0};
  std::deque<caf::mailbox_element_ptr> mailbox_;
  bool waiting_ = false;
  bool ended_ = false;

  // The worker thread's own.
  caf::strong_actor_ptr reply_to_;
  std::vector<char> results_;
  segment_refs result_segments_; ///< the shared memory of results_' bytes
  std::size_t results_shared_ = 0; ///< its bytes (content_size)
  clock_type::time_point last_flush_ = clock_type::now();
  /// Batch bytes since it was last idle: a process that stays quiet after
  /// moving much gives its heap back (heap_trimmer).
  std::size_t bytes_moved_ = 0;
  /// Moving average of each task's running time, by name.
  std::unordered_map<const task_entry*, double> run_us_of_;
  std::size_t max_frame_size_ = current_runtime() ? current_runtime()->max_frame_size()
                                                  : std::size_t{64} << 20;
  /// The runtime's, looked up once: it is told whenever the worker idles.
  std::weak_ptr<heap_trimmer> trimmer_ =
    current_runtime() ? current_runtime()->trimmer() : std::shared_ptr<heap_trimmer>{};
  std::size_t batch_bytes_ = batch_limit(max_frame_size_);
};

caf::strong_actor_ptr spawn_pool_worker(caf::actor_system& sys, std::string_view) {
  // Results written in bytes are lent to the parent from recycled memory.
  segment_pool::enable();
  caf::actor_config cfg;
  auto worker = caf::make_actor<pool_worker, caf::strong_actor_ptr>(sys.next_actor_id(),
                                                                    sys.node(), &sys, cfg);
  // The thread keeps the actor alive until it ends; the process ends with
  // its last hosted actor, so the thread is never joined.
  std::thread{[worker] {
    static_cast<pool_worker*>(caf::actor_cast<caf::abstract_actor*>(worker))->run();
  }}.detach();
  return worker;
}

} // namespace

void register_pool_worker() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const char tag = 0;
    register_actor(pool_worker_actor, &tag, &spawn_pool_worker);
  });
}

} // namespace proctor::internal
