#include "runtime/jobs/jobs_core.hpp"

#include <algorithm>

#include "proctor/detail/result_state.hpp"
#include "runtime/pool/pool_core.hpp"
#include "runtime/jobs/postgres/pg_store.hpp"
#include "runtime/jobs/sqlite/sqlite_store.hpp"
#include "runtime/jobs/store_values.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// How often the store is looked at for what other processes did (new
/// jobs, results), when nothing here wakes the store thread first.
constexpr milliseconds poll_span{20};
/// The running time a master claims ahead for each worker.
constexpr double backlog_span_us = 5000;
/// How long outcomes are gathered into one commit at most.
constexpr std::chrono::microseconds gather_span{2000};
/// How often owners that ended are looked for, and results expire.
constexpr std::chrono::seconds housekeeping_span{1};
constexpr std::chrono::seconds purge_span{60};
/// A job's own timeout at most (a longer one in the store is cut to it).
constexpr milliseconds longest_timeout{std::chrono::hours{24 * 30}};
/// Times the store may refuse to record an outcome before the job is
/// failed for good instead, and before even that is given up.
constexpr std::uint32_t refusals_until_failed = 3;
constexpr std::uint32_t refusals_until_dropped = 6;

/// The outcome of attempt `attempt` of job `id`, as the pool's `s` holds it.
job_outcome outcome_of(const result_state& s, const task_entry* entry, std::uint64_t id,
                       std::uint32_t attempt) {
  job_outcome o;
  o.id = id;
  o.attempt = attempt;
  auto& part = s.at(0);
  if (part.failure) {
    o.code = part.failure->code;
    o.error = (part.failure->type.empty() ? std::string{to_string(o.code)} : part.failure->type)
              + ": " + part.failure->what;
    return o;
  }
  try {
    // A result in shared memory is kept apart from it, in the store.
    o.result = part.segments.empty() ? part.bytes : entry->inline_result(part.bytes, part.segments);
    o.ok = true;
  } catch (const error& e) {
    o.code = e.code();
    o.error = std::string{"proctor::error: "} + e.what();
  } catch (const std::exception& e) {
    o.code = errc::malformed_payload;
    o.error = std::string{"the result cannot be stored: "} + e.what();
  } catch (...) {
    o.code = errc::malformed_payload;
    o.error = "the result cannot be stored";
  }
  return o;
}

/// A PostgreSQL connection string (a URI, or libpq's key=value words),
/// not a file's path.
bool is_postgres(const std::string& store) {
  return store.starts_with("postgresql://") || store.starts_with("postgres://")
         || store.find("dbname=") != std::string::npos || store.find("host=") != std::string::npos;
}

job_outcome failed_outcome(const claimed_job& job, errc code, std::string why) {
  job_outcome o;
  o.id = job.id;
  o.attempt = job.attempt;
  o.code = code;
  o.error = std::move(why);
  return o;
}

} // namespace

jobs_core::jobs_core(runtime& rt, jobs_options options)
  : options_(std::move(options)), box_(std::make_shared<mailbox>()),
    jitter_(static_cast<std::minstd_rand::result_type>(std::random_device{}())) {
  if (is_postgres(options_.store)) {
    auto pg = std::make_unique<pg_store>(options_.store);
    // Another master's submit or give-back wakes this one's store thread.
    pg->on_change([box = box_] { box->wake.notify_one(); });
    store_ = std::move(pg);
  } else {
    store_ = std::make_unique<sqlite_store>(options_.store, options_.durable_sync);
  }
  if (options_.run) {
    store_->set_tasks(task_names());
    pool_ = std::make_unique<pool>(rt, options_.pool);
    concurrency_ = in_flight_limit();
  }
  thread_ = std::thread{[this] { loop(); }};
}

jobs_core::~jobs_core() {
  {
    std::lock_guard<std::mutex> guard{box_->mtx};
    box_->stopping = true;
  }
  box_->wake.notify_all();
  thread_.join();
}

void jobs_core::call(std::function<void(job_store&)> work, bool writes) {
  auto r = std::make_shared<request>();
  r->work = std::move(work);
  r->writes = writes;
  std::unique_lock<std::mutex> lock{box_->mtx};
  if (box_->stopping)
    throw error(errc::invalid_state, "proctor: the jobs are stopping");
  box_->requests.push_back(r);
  box_->wake.notify_one();
  // The store answers within its busy timeout, or throws; no deadline here.
  box_->answered.wait(lock, [&] { return r->done; });
  // Taken out of the request, so that the exception dies on this thread:
  // the store thread may drop the request while this one still reads it.
  auto failure = std::move(r->failure);
  r->failure = nullptr;
  lock.unlock();
  if (failure)
    std::rethrow_exception(failure);
}

void jobs_core::wait_change(steady_clock::time_point until) {
  std::unique_lock<std::mutex> lock{box_->mtx};
  auto seen = box_->epoch;
  box_->answered.wait_until(lock, std::min(until, steady_clock::now() + 5 * poll_span),
                            [&] { return box_->epoch != seen || box_->stopped; });
}

void jobs_core::bump() {
  {
    std::lock_guard<std::mutex> guard{box_->mtx};
    ++box_->epoch;
  }
  box_->answered.notify_all();
}

milliseconds jobs_core::backoff_for(std::uint32_t failed) {
  auto base = options_.backoff;
  for (std::uint32_t i = 1; i < failed && base < options_.max_backoff; ++i)
    base *= 2;
  base = std::min(base, options_.max_backoff);
  if (base.count() < 2)
    return base;
  std::uniform_int_distribution<std::int64_t> pick{base.count() / 2, base.count()};
  return milliseconds{pick(jitter_)};
}

std::size_t jobs_core::in_flight_limit() {
  if (options_.concurrency != 0)
    return options_.concurrency;
  // About five milliseconds of work per worker: the workers stay busy
  // while the store thread commits a round, and a master holds no more
  // jobs than it runs soon (another master may have idle workers).
  auto us = pool_->core_->task_us();
  auto per_worker = us < 0 ? std::size_t{32}
                           : std::clamp<std::size_t>(
                               static_cast<std::size_t>(backlog_span_us / std::max(us, 1.0)),
                               2, 128);
  return per_worker * pool_->processes();
}

void jobs_core::loop() {
  while (true) {
    if (options_.run && pool_)
      concurrency_ = in_flight_limit();
    std::vector<std::shared_ptr<request>> requests;
    std::vector<job_outcome> outcomes;
    bool stopping = false;
    {
      auto now = steady_clock::now();
      auto until = now + poll_span;
      // A due time from the store is clamped before it meets the clock: it
      // may be anything.
      if (options_.run && !broken_ && running_.size() < concurrency_ && next_due_)
        until = std::min(until, now + milliseconds{std::clamp<std::int64_t>(
                                        *next_due_ - wall_ms(), 0, poll_span.count())});
      std::unique_lock<std::mutex> lock{box_->mtx};
      box_->wake.wait_until(lock, until, [&] {
        return !box_->requests.empty() || !box_->outcomes.empty() || box_->stopping;
      });
      // Outcomes come one at a time as workers finish. While many jobs
      // run, half of them are gathered, for a moment at most, so that one
      // commit records many; a lone job is not held up.
      auto gathered = running_.size() / 2;
      if (box_->outcomes.size() < gathered && box_->requests.empty() && !box_->stopping)
        box_->wake.wait_until(lock, steady_clock::now() + gather_span, [&] {
          return !box_->requests.empty() || box_->outcomes.size() >= gathered
                 || box_->stopping;
        });
      requests.swap(box_->requests);
      outcomes.swap(box_->outcomes);
      stopping = box_->stopping;
    }
    try {
      // A master that stops claims nothing more.
      if (!requests.empty() || !outcomes.empty())
        commit(requests, outcomes, !stopping);
      if (stopping)
        break;
      if (store_->changed_elsewhere()) {
        dirty_ = true;
        bump();
      }
      if (options_.run) {
        housekeeping(steady_clock::now());
        take_jobs(wall_ms());
      }
    } catch (const std::exception& e) {
      log("jobs", log_level::error, "the store failed: ", e.what(), "; trying again");
      std::this_thread::sleep_for(10 * poll_span);
    }
  }
  shut_down();
}

void jobs_core::commit(std::vector<std::shared_ptr<request>>& requests,
                       std::vector<job_outcome>& outcomes, bool may_claim) {
  auto now = wall_ms();
  bool writes = !outcomes.empty();
  for (auto& r : requests)
    writes = writes || r->writes;
  // A transaction that writes anyway claims the next jobs too: one commit
  // a round instead of two. Outcomes of running attempts make room, down
  // to the limit if it shrank meanwhile.
  std::size_t room = 0;
  if (writes && may_claim && options_.run && !broken_) {
    auto still_running = running_.size();
    for (auto& o : outcomes)
      if (auto at = running_.find(o.id); at != running_.end() && at->second == o.attempt)
        --still_running;
    room = concurrency_ - std::min(concurrency_, still_running);
  }
  std::vector<claimed_job> taken;
  bool claimed = false;
  try {
    store_->transact(
      [&] {
        for (auto& r : requests)
          r->work(*store_);
        for (auto& o : outcomes)
          record(o, now);
        if (room > 0) {
          taken = store_->claim(store_->owner(), room, now);
        }
      },
      writes);
    claimed = room > 0;
    for (auto& o : outcomes)
      settled(o);
    outcomes.clear();
  } catch (const std::exception&) {
    taken.clear(); // rolled back
    // One at a time, so that what fails fails alone.
    for (auto& r : requests)
      try {
        store_->transact([&] { r->work(*store_); }, r->writes);
      } catch (...) {
        r->failure = std::current_exception();
      }
    std::vector<job_outcome> kept;
    for (auto& o : outcomes)
      try {
        store_->transact([&] { record(o, now); });
        settled(o);
      } catch (const std::exception& e) {
        if (auto again = refused(std::move(o), e.what()))
          kept.push_back(std::move(*again));
      }
    outcomes.swap(kept);
  }
  if (writes)
    dirty_ = true;
  {
    std::lock_guard<std::mutex> guard{box_->mtx};
    for (auto& r : requests)
      r->done = true;
    // Only a change wakes the waiters: a read waking them would have them
    // read again, and wake each other for ever.
    if (writes)
      ++box_->epoch;
    // Outcomes the store refused wait for the next round, not lost.
    for (auto& o : outcomes)
      box_->outcomes.push_back(std::move(o));
  }
  box_->answered.notify_all();
  if (claimed)
    start(taken, room, now);
  if (!outcomes.empty())
    std::this_thread::sleep_for(10 * poll_span);
}

void jobs_core::settled(const job_outcome& o) {
  // A late outcome of an earlier attempt leaves the running one alone.
  if (auto at = running_.find(o.id); at != running_.end() && at->second == o.attempt)
    running_.erase(at);
}

std::optional<job_outcome> jobs_core::refused(job_outcome o, const std::string& why) {
  ++o.refusals;
  if (o.refusals >= refusals_until_dropped) {
    log("jobs", log_level::error, "cannot record job ", o.id, " at all (", why,
        "); it runs again once this master ends");
    return std::nullopt;
  }
  if (o.refusals >= refusals_until_failed && (o.ok || o.code != errc::store_failed)) {
    // A result the store will never take (too large, say) fails the job
    // for good instead of blocking it.
    log("jobs", log_level::error, "cannot record job ", o.id, " (", why, "); failing it");
    o.ok = false;
    o.result.clear();
    o.code = errc::store_failed;
    o.error = "store_failed: its outcome could not be recorded: " + why;
    return o;
  }
  log("jobs", log_level::error, "cannot record job ", o.id, ": ", why, "; trying again");
  return o;
}

void jobs_core::record(const job_outcome& o, std::int64_t now_ms) {
  if (o.ok) {
    if (!store_->finish(o.id, o.attempt, o.result, now_ms))
      log("jobs", log_level::warning, "job ", o.id, ": the result of attempt ", o.attempt,
          " came after that attempt was given up; refused");
    return;
  }
  if (o.code == errc::pool_terminated || o.code == errc::pool_broken) {
    // Not the job's doing: it goes back unrun.
    store_->give_back(o.id, o.attempt);
    return;
  }
  // A task that does not decode its arguments will not on another attempt,
  // nor will a job that cannot be sent or stored.
  bool final = o.code == errc::bad_argument || o.code == errc::unregistered_task
               || o.code == errc::frame_too_large || o.code == errc::store_failed;
  store_->fail(o.id, o.attempt, o.error, now_ms + backoff_for(o.attempt).count(), final, now_ms);
}

void jobs_core::take_jobs(std::int64_t now_ms) {
  if (broken_ || running_.size() >= concurrency_)
    return;
  if (!dirty_ && !(next_due_ && *next_due_ <= now_ms))
    return;
  auto room = concurrency_ - running_.size();
  // The owner is asked each time: a store whose connection broke and came
  // back is another session.
  auto taken = store_->claim(store_->owner(), room, now_ms);
  start(taken, room, now_ms);
}

void jobs_core::start(const std::vector<claimed_job>& taken, std::size_t room,
                      std::int64_t now_ms) {
  for (auto& job : taken)
    running_[job.id] = job.attempt;
  dispatch(taken);
  dirty_ = false;
  // A full claim leaves jobs due now; only a short one needs to know when
  // the next comes.
  next_due_ = now_ms;
  if (taken.size() < room)
    try {
      next_due_ = store_->next_due();
    } catch (const std::exception& e) {
      // The jobs run; the store is asked again next round.
      log("jobs", log_level::error, "the store failed: ", e.what(), "; trying again");
    }
}

void jobs_core::fail_now(const claimed_job& job, errc code, std::string why) {
  std::lock_guard<std::mutex> guard{box_->mtx};
  box_->outcomes.push_back(failed_outcome(job, code, std::move(why)));
}

void jobs_core::dispatch(const std::vector<claimed_job>& jobs) {
  std::vector<std::shared_ptr<result_state>> results;
  std::vector<chunk> work;
  std::vector<const claimed_job*> sent;
  for (auto& job : jobs) {
    auto* entry = find_task(job.task);
    if (entry == nullptr) {
      // claim() takes only the tasks registered here; a store shared with
      // another program could still name one that this one lacks.
      fail_now(job, errc::unregistered_task, "proctor::error: no task " + job.task
                                               + " in this program");
      continue;
    }
    chunk c;
    c.entry = entry;
    c.count = 1;
    c.args.assign(job.args.begin(), job.args.end());
    if (job.timeout_ms > 0)
      c.timeout = std::min(milliseconds{job.timeout_ms}, longest_timeout);
    auto state = std::make_shared<result_state>(std::vector<std::size_t>{1});
    state->on_done([box = box_, entry, id = job.id, attempt = job.attempt](const result_state& s) {
      auto o = outcome_of(s, entry, id, attempt);
      {
        std::lock_guard<std::mutex> guard{box->mtx};
        box->outcomes.push_back(std::move(o));
      }
      box->wake.notify_one();
    });
    results.push_back(std::move(state));
    work.push_back(std::move(c));
    sent.push_back(&job);
  }
  if (work.empty())
    return;
  try {
    // One submission for the whole claim: the pool sends it in batches.
    pool_->core_->submit_each(results, work);
  } catch (const error& e) {
    // Refused before any was queued (broken, terminated, closed): the
    // jobs go back unrun. Anything else leaves them to the pool.
    if (e.code() != errc::pool_broken && e.code() != errc::pool_terminated
        && e.code() != errc::invalid_state)
      throw;
    log("jobs", log_level::error, "the pool takes no more jobs: ", e.what());
    broken_ = true;
    for (auto* job : sent)
      fail_now(*job, errc::pool_broken, e.what());
  }
}

void jobs_core::housekeeping(steady_clock::time_point now) {
  if (now < next_housekeeping_)
    return;
  next_housekeeping_ = now + housekeeping_span;
  auto wall = wall_ms();
  auto me = store_->owner();
  for (auto& owner : store_->running_owners())
    if (owner != me && !store_->owner_alive(owner))
      if (auto n = store_->release(owner, wall); n > 0) {
        log("jobs", log_level::info, n, " jobs of a master that ended (", owner,
            ") run again");
        dirty_ = true;
      }
  if (now >= next_purge_) {
    next_purge_ = now + purge_span;
    store_->purge(wall - options_.keep_results.count(), false);
  }
}

void jobs_core::shut_down() {
  // The pool ends first: what it finished is recorded, what it was running
  // comes back as pool_terminated and goes back to the queue.
  pool_.reset();
  std::vector<std::shared_ptr<request>> requests;
  std::vector<job_outcome> outcomes;
  {
    std::lock_guard<std::mutex> guard{box_->mtx};
    requests.swap(box_->requests);
    outcomes.swap(box_->outcomes);
  }
  auto now = wall_ms();
  for (auto& o : outcomes)
    try {
      store_->transact([&] { record(o, now); });
      settled(o);
    } catch (const std::exception& e) {
      log("jobs", log_level::error, "cannot record job ", o.id, " while stopping: ", e.what());
    }
  // Jobs whose outcome never came: back to the queue unrun.
  for (auto& [id, attempt] : running_)
    try {
      store_->give_back(id, attempt);
    } catch (const std::exception& e) {
      log("jobs", log_level::error, "cannot give job ", id, " back while stopping: ", e.what());
    }
  running_.clear();
  std::lock_guard<std::mutex> guard{box_->mtx};
  for (auto& r : requests) {
    r->failure = std::make_exception_ptr(error(errc::invalid_state, "proctor: the jobs are stopping"));
    r->done = true;
  }
  box_->stopped = true;
  box_->answered.notify_all();
}

} // namespace proctor::internal
