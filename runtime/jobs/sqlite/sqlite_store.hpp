#pragma once

#include <map>
#include <memory>
#include <string>

#include "runtime/jobs/job_store.hpp"
#include "runtime/jobs/local_owner.hpp"
#include "runtime/jobs/sqlite/statement.hpp"

struct sqlite3;

namespace proctor::internal {

/// Jobs in one SQLite file, in WAL mode: the embedded default. With
/// synchronous=NORMAL a committed job survives the process's crash, not a
/// power loss; `durable_sync` makes every commit wait for the disk.
///
/// Several processes of one host may share the file (SQLite's locks);
/// a file on a network share may not (SQLite's rule, not ours).
///
/// The file is trusted as the program's own files are: whoever can write
/// it can queue any registered task with any arguments. Values out of
/// range in it (a state, an attempt) are refused with store_failed, never
/// cast into meaning.
///
/// Threads: one at a time (job_store).
class sqlite_store final : public job_store {
public:
  /// Opens or creates the store at `path` (a missing file is created, a
  /// missing directory is an error). Throws proctor::error (store_failed)
  /// with SQLite's word if the file cannot be opened or is not a store.
  explicit sqlite_store(const std::string& path, bool durable_sync = false);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

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
  /// A process of this host (local_owner).
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

private:
  /// The statement for `sql` (a literal: its address is the key), prepared
  /// once, in use until the scope of what this returns ends.
  sqlite::statement_use use(const char* sql);

  /// Rows changed by the last statement.
  std::uint64_t changes() const;

  sqlite3* db_ = nullptr;
  /// Declared after db_: finalized before the connection closes.
  std::map<const char*, std::unique_ptr<sqlite::statement>> cache_;
  std::string owner_ = local_owner();
  bool tasks_filtered_ = false;
  std::int64_t data_version_ = -1;
};

} // namespace proctor::internal
