#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>
#include <functional>
#include <memory>
#include <string>

#include "runtime/jobs/job_store.hpp"

struct pg_conn;

namespace proctor::internal {

class pg_listener;

/// Jobs in a PostgreSQL table that several masters on several hosts share:
/// claims take rows FOR UPDATE SKIP LOCKED, so that no job is taken twice;
/// submits and give-backs NOTIFY proctor_jobs, which wakes the others (a
/// connection of its own LISTENs on a thread of its own).
///
/// An owner is a server session (its backend's pid and start): a master
/// whose connection dies is taken for dead, its running jobs run again
/// elsewhere, and a late result of theirs is refused by its attempt.
/// A connection that broke is opened again at the next call; the call that
/// found it broken throws store_failed.
///
/// Threads: one at a time (job_store); the listener calls `on_change`'s
/// callback on its own thread.
class pg_store final : public job_store {
public:
  /// Connects with libpq's `conninfo` ("postgresql://user@host/db", or
  /// "host=... dbname=..."), making the table if it is missing. Throws
  /// store_failed with the server's word.
  explicit pg_store(std::string conninfo);
  ~pg_store() override;
  pg_store(const pg_store&) = delete;
  pg_store& operator=(const pg_store&) = delete;

  /// Calls `wake` when another session changed the jobs.
  void on_change(std::function<void()> wake);

  void transact(const std::function<void()>& work, bool writes = true) override;
  std::vector<std::uint64_t> enqueue(std::span<const job_spec> jobs) override;
  void set_tasks(const std::vector<std::string>& names) override;
  std::vector<claimed_job> claim(std::string_view owner, std::size_t max,
                                 std::int64_t now_ms) override;
  std::optional<std::int64_t> next_due() override;
  bool changed_elsewhere() override;
  bool finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result,
              std::int64_t now_ms) override;
  bool fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
            std::int64_t retry_at_ms, bool final, std::int64_t now_ms) override;
  bool give_back(std::uint64_t id, std::uint32_t attempt) override;
  std::string owner() override;
  bool owner_alive(std::string_view owner) override;
  std::vector<std::string> running_owners() override;
  std::uint64_t release(std::string_view owner, std::int64_t now_ms) override;
  bool requeue(std::uint64_t id, std::int64_t now_ms) override;
  std::uint64_t purge(std::int64_t before_ms, bool dead) override;
  std::optional<job_record> get(std::uint64_t id) override;
  std::vector<job_record> list(job_state state, std::uint64_t after, std::size_t max) override;
  job_counts counts() override;
  bool pending() override;

  class params;
  class rows;

private:
  /// Runs `sql` with `p`; throws store_failed (and drops a broken
  /// connection, to be opened again by the next call).
  rows exec(const char* sql, const params& p);
  rows exec(const char* sql);
  /// The connection, opened (again) if need be.
  pg_conn* connection();

  std::string conninfo_;
  pg_conn* conn_ = nullptr;
  std::string owner_;
  std::string tasks_; ///< a text[] literal of the tasks claims take; empty: all
  bool in_transaction_ = false;
  std::atomic<bool> notified_{true};
  std::unique_ptr<pg_listener> listener_;
};

} // namespace proctor::internal
