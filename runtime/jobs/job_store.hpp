#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace proctor::internal {

/// Where a durable job is in its life (the numbers are stored).
enum class job_state : std::uint8_t { queued = 0, running = 1, done = 2, dead = 3 };

/// A job to record: the task's name and its encoded arguments, and how it
/// is to run.
struct job_spec {
  std::string task;
  std::vector<char> args;
  std::string key;             ///< unique when not empty: a second submit is the same job
  std::int32_t priority = 0;   ///< higher first
  std::int64_t run_at_ms = 0;  ///< not before (ms since the epoch)
  std::uint32_t max_attempts = 1;
  std::int64_t timeout_ms = 0; ///< per attempt; 0: the pool's
};

/// A job taken to run by one owner (a master's run), with its attempt.
struct claimed_job {
  std::uint64_t id = 0;
  std::int32_t priority = 0;
  std::int64_t run_at_ms = 0;
  std::string task;
  std::vector<char> args;
  std::uint32_t attempt = 0; ///< 1 for the first run
  std::uint32_t max_attempts = 1;
  std::int64_t timeout_ms = 0;
};

/// A job as recorded.
struct job_record {
  std::uint64_t id = 0;
  std::string task;
  std::string key;
  job_state state = job_state::queued;
  std::int32_t priority = 0;
  std::uint32_t attempts = 0;
  std::uint32_t max_attempts = 1;
  std::int64_t run_at_ms = 0;
  std::int64_t created_ms = 0;
  std::int64_t finished_ms = 0; ///< done or dead: when
  std::vector<char> result;     ///< done: the encoded result
  std::string error;            ///< the last failure's text
};

/// Jobs by state, and when the oldest queued one became due.
struct job_counts {
  std::uint64_t queued = 0;
  std::uint64_t running = 0;
  std::uint64_t done = 0;
  std::uint64_t dead = 0;
  std::int64_t oldest_due_ms = 0; ///< the earliest run-at among queued jobs; 0: none
};

/// A store of durable jobs (SQLite, PostgreSQL). Every call is one
/// transaction, or part of the one transact() runs: what returned outside a
/// transact(), or from it, is committed.
///
/// Threads: a store is used by one thread at a time (the jobs core's store
/// thread, or a tool's main thread); it never runs on the io thread.
class job_store {
public:
  virtual ~job_store();

  /// Runs `work` in one transaction (group commit): its calls join it, and
  /// an exception rolls all of them back. Without `writes`, it only reads
  /// (and takes no write lock first).
  virtual void transact(const std::function<void()>& work, bool writes = true) = 0;

  /// Records `jobs` and returns their ids, in order: an existing job's id
  /// for a key already recorded.
  virtual std::vector<std::uint64_t> enqueue(std::span<const job_spec> jobs) = 0;

  /// The tasks this owner can run: claim() takes no other.
  virtual void set_tasks(const std::vector<std::string>& names) = 0;

  /// Takes up to `max` queued jobs due at `now_ms`, highest priority
  /// first, for `owner`: each is running, its attempt counted. In the order
  /// they are to run: priority, then due time, then id.
  virtual std::vector<claimed_job> claim(std::string_view owner, std::size_t max,
                                         std::int64_t now_ms) = 0;

  /// When the next queued job that claim() could take is due; none: nothing.
  virtual std::optional<std::int64_t> next_due() = 0;

  /// Whether another connection committed since the last call (new jobs
  /// may be due); the first call says true.
  virtual bool changed_elsewhere() = 0;

  /// Attempt `attempt` of job `id` returned `result`: recorded once. False
  /// if that attempt is not the running one (given up, or done already).
  virtual bool finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result,
                      std::int64_t now_ms) = 0;

  /// Attempt `attempt` of job `id` failed with `error`: queued again at
  /// `retry_at_ms` while attempts remain, else dead (or dead at once if
  /// `final`). False as for finish.
  virtual bool fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
                    std::int64_t retry_at_ms, bool final, std::int64_t now_ms) = 0;

  /// Attempt `attempt` of job `id` given back unrun (its owner stops):
  /// queued again, the attempt not counted.
  virtual bool give_back(std::uint64_t id, std::uint32_t attempt) = 0;

  /// This process, as the owner of the jobs it claims from this store.
  virtual std::string owner() = 0;

  /// Whether `owner` still runs; one the store cannot tell about counts as
  /// running, so that a live master's jobs are never taken from it.
  virtual bool owner_alive(std::string_view owner) = 0;

  /// The owners that jobs are running for.
  virtual std::vector<std::string> running_owners() = 0;

  /// Jobs running for `owner`, which ended, are queued again: the attempt
  /// counts, and a job on its last one goes dead. How many.
  virtual std::uint64_t release(std::string_view owner, std::int64_t now_ms) = 0;

  /// A dead job queued again, with fresh attempts; false if it is not dead.
  virtual bool requeue(std::uint64_t id, std::int64_t now_ms) = 0;

  /// Deletes done jobs finished before `before_ms` (kept results expire),
  /// and dead ones too if `dead` says so; how many.
  virtual std::uint64_t purge(std::int64_t before_ms, bool dead) = 0;

  virtual std::optional<job_record> get(std::uint64_t id) = 0;

  /// Up to `max` jobs in `state`, oldest first, from id `after` on; without
  /// their results.
  virtual std::vector<job_record> list(job_state state, std::uint64_t after,
                                       std::size_t max) = 0;

  virtual job_counts counts() = 0;

  /// Whether any job is queued or running (cheaper than counts()).
  virtual bool pending() = 0;
};

} // namespace proctor::internal
