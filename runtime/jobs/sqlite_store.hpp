#pragma once

#include <memory>
#include <string>

#include "runtime/jobs/job_store.hpp"

struct sqlite3;

namespace proctor::internal {

/// Jobs in one SQLite file, in WAL mode: the embedded default. With
/// synchronous=NORMAL a committed job survives the process's crash (not a
/// power loss: `durable_sync` makes every commit wait for the disk).
///
/// Threads: one at a time (job_store).
class sqlite_store final : public job_store {
public:
  /// Opens or creates the store at `path`. Throws proctor::error
  /// (store_failed) with SQLite's word if the file cannot be opened or is
  /// not a store.
  explicit sqlite_store(const std::string& path, bool durable_sync = false);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  std::vector<std::uint64_t> enqueue(std::span<const job_spec> jobs) override;
  std::vector<claimed_job> claim(std::string_view owner, std::size_t max,
                                 std::int64_t now_ms) override;
  bool finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result) override;
  bool fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
            std::int64_t retry_at_ms) override;
  std::uint64_t resume(std::string_view owner) override;
  bool requeue(std::uint64_t id) override;
  std::optional<job_record> get(std::uint64_t id) override;
  job_counts counts() override;

private:
  class statement;

  /// Runs `sql` (no rows), throwing store_failed.
  void run(const char* sql);

  sqlite3* db_ = nullptr;
};

} // namespace proctor::internal
