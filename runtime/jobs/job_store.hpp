#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace proctor::internal {

/// Where a durable job is in its life.
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
};

/// A job taken to run by one owner (a master's run), with its attempt.
struct claimed_job {
  std::uint64_t id = 0;
  std::string task;
  std::vector<char> args;
  std::uint32_t attempt = 0; ///< 1 for the first run
};

/// A job as recorded.
struct job_record {
  std::uint64_t id = 0;
  std::string task;
  std::string key;
  job_state state = job_state::queued;
  std::uint32_t attempts = 0;
  std::uint32_t max_attempts = 1;
  std::int64_t run_at_ms = 0;
  std::vector<char> result; ///< done: the encoded result
  std::string error;        ///< the last failure's text
};

/// Jobs by state, and how long the oldest queued one has waited.
struct job_counts {
  std::uint64_t queued = 0;
  std::uint64_t running = 0;
  std::uint64_t done = 0;
  std::uint64_t dead = 0;
  std::int64_t oldest_queued_ms = 0; ///< its run-at time; 0 without one
};

/// A store of durable jobs (SQLite, PostgreSQL). Every call is one
/// transaction: what returned is committed.
///
/// Threads: a store is used by one thread at a time (the jobs front's
/// store thread); it never runs on the io thread.
class job_store {
public:
  virtual ~job_store();

  /// Records `jobs` and returns their ids, in order: an existing job's id
  /// for a key already recorded.
  virtual std::vector<std::uint64_t> enqueue(std::span<const job_spec> jobs) = 0;

  /// Takes up to `max` queued jobs due at `now_ms`, highest priority
  /// first, for `owner`: each is running, its attempt counted.
  virtual std::vector<claimed_job> claim(std::string_view owner, std::size_t max,
                                         std::int64_t now_ms) = 0;

  /// Attempt `attempt` of job `id` returned `result`: recorded once. False
  /// if that attempt is not the running one (given up, or done already).
  virtual bool finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result) = 0;

  /// Attempt `attempt` of job `id` failed with `error`: queued again at
  /// `retry_at_ms` while attempts remain, else dead. False as for finish.
  virtual bool fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
                    std::int64_t retry_at_ms) = 0;

  /// Jobs running for an owner other than `owner` (a master that died)
  /// are queued again; how many.
  virtual std::uint64_t resume(std::string_view owner) = 0;

  /// A dead job queued again, with fresh attempts; false if it is not dead.
  virtual bool requeue(std::uint64_t id) = 0;

  virtual std::optional<job_record> get(std::uint64_t id) = 0;

  virtual job_counts counts() = 0;
};

} // namespace proctor::internal
