#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "proctor/pool.hpp"
#include "proctor/runtime.hpp"
#include "proctor/task.hpp"

namespace proctor {

/// How one durable job is to run.
struct job_options {
  /// Not empty: the job's unique key. A second submit with a key already
  /// recorded is the same job (its id comes back; nothing new runs), for as
  /// long as the job is kept.
  std::string key;
  /// Higher runs first among the jobs due.
  std::int32_t priority = 0;
  /// Not before then (a delay); the epoch's zero means now.
  std::chrono::system_clock::time_point run_at{};
  /// Runs in all, the first included. A failed attempt (the task threw, its
  /// worker died on every pool retry, it timed out) is run again after a
  /// backoff; the last failure sends the job to the dead letters.
  std::uint32_t max_attempts = 3;
  /// Each attempt's limit; past it the worker is killed and the attempt
  /// fails. Empty: the pool's task_timeout.
  std::optional<std::chrono::milliseconds> timeout;
};

/// Where a job is: queued (waiting, or due again after a failure), running,
/// done (its result recorded), dead (every attempt failed).
enum class job_state : std::uint8_t { queued, running, done, dead };

const char* to_string(job_state s) noexcept;

/// A job as recorded.
struct job_info {
  std::uint64_t id = 0;
  std::string task;
  std::string key;
  job_state state = job_state::queued;
  std::int32_t priority = 0;
  std::uint32_t attempts = 0; ///< started so far (a running one included)
  std::uint32_t max_attempts = 0;
  std::chrono::system_clock::time_point run_at;   ///< due (again) then
  std::chrono::system_clock::time_point created;
  std::chrono::system_clock::time_point finished; ///< done or dead: when
  std::string error; ///< the last failure, as "type: what"
};

/// Jobs by state, and how long the oldest due one has waited.
struct job_counts {
  std::uint64_t queued = 0;
  std::uint64_t running = 0;
  std::uint64_t done = 0;
  std::uint64_t dead = 0;
  std::chrono::milliseconds oldest_queued_age{0};
};

struct jobs_options {
  /// The store: a SQLite file's path (created if missing), or a PostgreSQL
  /// database's libpq connection string: a postgresql:// (postgres://) URI,
  /// or key=value words that name host= or dbname=.
  std::string store;
  /// Run jobs here. False: submit and observe only (a client, a tool).
  bool run = true;
  /// The pool that runs them (its workers, retries and timeouts).
  pool_options pool;
  /// Jobs claimed and handed to the pool at once. 0: about five
  /// milliseconds of work per worker process, as the pool measures the
  /// jobs' running time (2 to 128 per process; 32 until the first result).
  /// Enough keeps the workers busy while results travel; few leaves jobs to
  /// other masters. Each job claimed when the master dies has its attempt
  /// counted.
  std::size_t concurrency = 0;
  /// The wait before a failed job's next attempt: `backoff` doubled per
  /// attempt, at most `max_backoff`, each drawn at random between half and
  /// all of it (jitter, so that failures do not come back in step).
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::minutes{5}};
  /// Done jobs (and their results) are deleted this long after they
  /// finished; dead ones are kept until retried or purged.
  std::chrono::milliseconds keep_results{std::chrono::hours{24 * 7}};
  /// SQLite: every commit waits for the disk (survives a power loss), not
  /// only for the operating system (survives the process's crash).
  bool durable_sync = false;
};

class job_dead;

namespace internal {
class jobs_core;

/// A job bound for the store: its task's name, its encoded arguments.
struct job_call {
  std::string task;
  std::vector<char> args;
};

/// Encodes fn's arguments as a job's: plain values only, for they must
/// outlive this process. Throws errc::unregistered_task, errc::bad_argument.
template <class R, class... Ps, class... Ts>
job_call bind_job(R (*fn)(Ps...), Ts&&... xs) {
  static_assert(sizeof...(Ps) == sizeof...(Ts),
                "proctor: wrong number of arguments for the task");
  auto& entry = registered_task(reinterpret_cast<const void*>(fn));
  std::tuple<std::decay_t<Ps>...> args{std::forward<Ts>(xs)...};
  job_call call{entry.name, {}};
  offer_collector offers;
  encode_arguments(call.args, args);
  if (offers.take() != nullptr)
    throw error(errc::bad_argument,
                "proctor: a job's arguments cannot hold pipe ends: they would not outlive "
                "this process");
  return call;
}
} // namespace internal

/// Durable jobs: work that survives the master. submit() returns once the
/// job is committed to the store; a pool runs it; its result is recorded
/// once, in the store, where result() and status() find it from any
/// process, before or after a restart. A master that starts on a store
/// whose previous master died runs that one's unfinished jobs again (the
/// attempt counts); a done job never runs again.
///
/// Arguments and results travel through the store as CAF-encoded plain
/// values: no queue, pipe, lock or actor handles, which would not outlive
/// the process that made them.
///
/// Threads: every call may come from any thread; the store is used on a
/// thread of its own (batching concurrent submits and results into one
/// transaction), never on the io thread.
class jobs {
public:
  /// Opens the store (errc::store_failed: cannot, or not a store) and, with
  /// options.run, starts the pool and takes jobs.
  jobs(runtime& rt, jobs_options options);
  /// Stops taking jobs and ends the pool; the jobs it was running go back to
  /// the queue, their attempt not counted.
  ~jobs();
  jobs(const jobs&) = delete;
  jobs& operator=(const jobs&) = delete;

  /// Records fn(args...) as a job; its id, once committed.
  template <class R, class... Ps, class... Ts>
  std::uint64_t submit(R (*fn)(Ps...), Ts&&... args) {
    return submit(job_options{}, fn, std::forward<Ts>(args)...);
  }

  template <class R, class... Ps, class... Ts>
  std::uint64_t submit(const job_options& options, R (*fn)(Ps...), Ts&&... args) {
    std::vector<internal::job_call> one;
    one.push_back(internal::bind_job(fn, std::forward<Ts>(args)...));
    return submit_calls(std::move(one), options, false).front();
  }

  /// fn(x) for every x of `range`, all in one transaction; their ids, in
  /// order. With a key in `options`, the n-th job's key is key + "/" + n.
  template <class R, class P, class Range>
  std::vector<std::uint64_t> submit_each(R (*fn)(P), Range&& range,
                                         const job_options& options = {}) {
    std::vector<internal::job_call> calls;
    for (auto&& x : range)
      calls.push_back(internal::bind_job(fn, x));
    return submit_calls(std::move(calls), options, true);
  }

  /// The result of job `id`, once done, waiting at most `timeout`. Throws
  /// job_dead (every attempt failed), errc::no_such_job, errc::timeout,
  /// errc::malformed_payload (R is not what the task returns).
  template <class R>
  R result(std::uint64_t id, std::chrono::milliseconds timeout) {
    auto bytes = result_bytes(id, timeout);
    if constexpr (!std::is_void_v<R>)
      return internal::decode_value<R>(bytes);
  }

  /// Job `id` as recorded; throws errc::no_such_job.
  job_info status(std::uint64_t id);

  /// Up to `max` jobs in `state`, from id `after` on, oldest first.
  std::vector<job_info> list(job_state state, std::uint64_t after = 0, std::size_t max = 100);

  job_counts counts();

  /// A dead job queued again, with all its attempts; false if not dead.
  bool retry(std::uint64_t id);

  /// Deletes done jobs (and dead ones with `dead`) finished more than
  /// `age` ago; how many.
  std::uint64_t purge(std::chrono::milliseconds age, bool dead = false);

  /// Waits until no job is queued or running (delayed ones included);
  /// false if `timeout` came first.
  bool wait_idle(std::chrono::milliseconds timeout);

private:
  std::vector<std::uint64_t> submit_calls(std::vector<internal::job_call> calls,
                                          const job_options& options, bool each);
  std::vector<char> result_bytes(std::uint64_t id, std::chrono::milliseconds timeout);

  std::unique_ptr<internal::jobs_core> core_;
};

/// Every attempt of a durable job failed: it is in the dead letters.
class job_dead : public error {
public:
  job_dead(std::uint64_t id, const std::string& what) : error(errc::job_dead, what), id_(id) {
  }

  std::uint64_t id() const noexcept {
    return id_;
  }

private:
  std::uint64_t id_;
};

} // namespace proctor
