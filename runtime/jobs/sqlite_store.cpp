#include "runtime/jobs/sqlite_store.hpp"

#include <sqlite3.h>

#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS proctor_jobs (
  id           INTEGER PRIMARY KEY,
  key          TEXT UNIQUE,
  task         TEXT NOT NULL,
  args         BLOB NOT NULL,
  state        INTEGER NOT NULL,
  priority     INTEGER NOT NULL,
  run_at       INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  owner        TEXT,
  result       BLOB,
  error        TEXT
);
CREATE INDEX IF NOT EXISTS proctor_jobs_due
  ON proctor_jobs (state, priority DESC, run_at, id);
)sql";

[[noreturn]] void refused(sqlite3* db, const char* what) {
  throw error(errc::store_failed, std::string{"proctor: jobs store: "} + what + ": "
                                    + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

} // namespace

/// One prepared statement, finalized with its scope.
class sqlite_store::statement {
public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      refused(db, "prepare");
  }
  ~statement() {
    sqlite3_finalize(stmt_);
  }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  statement& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  statement& bind_null(int i) {
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }
  statement& bind_blob(int i, std::span<const char> v) {
    check(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT));
    return *this;
  }

  /// The next row; false when done.
  bool step() {
    auto rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      refused(db_, "step");
    return false;
  }

  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t integer(int col) const {
    return sqlite3_column_int64(stmt_, col);
  }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p != nullptr ? std::string{p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))}
                        : std::string{};
  }
  std::vector<char> blob(int col) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p != nullptr ? std::vector<char>(p, p + sqlite3_column_bytes(stmt_, col))
                        : std::vector<char>{};
  }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      refused(db_, "bind");
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

sqlite_store::sqlite_store(const std::string& path, bool durable_sync) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr)
      != SQLITE_OK) {
    std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw error(errc::store_failed, "proctor: jobs store: cannot open " + path + ": " + why);
  }
  try {
    // Another master opening the same file waits for a lock, briefly.
    sqlite3_busy_timeout(db_, 5000);
    run("PRAGMA journal_mode=WAL");
    run(durable_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    run(schema);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

sqlite_store::~sqlite_store() {
  sqlite3_close(db_);
}

void sqlite_store::run(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw error(errc::store_failed, "proctor: jobs store: " + why);
  }
}

namespace {

/// BEGIN IMMEDIATE ... COMMIT, rolled back if the scope ends early.
class transaction {
public:
  explicit transaction(sqlite3* db) : db_(db) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      refused(db_, "begin");
  }
  ~transaction() {
    if (!done_)
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      refused(db_, "commit");
    done_ = true;
  }

private:
  sqlite3* db_;
  bool done_ = false;
};

} // namespace

std::vector<std::uint64_t> sqlite_store::enqueue(std::span<const job_spec> jobs) {
  std::vector<std::uint64_t> ids;
  ids.reserve(jobs.size());
  transaction txn{db_};
  statement insert{db_, "INSERT INTO proctor_jobs (key, task, args, state, priority, run_at, "
                        "max_attempts) VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6) "
                        "ON CONFLICT (key) DO NOTHING RETURNING id"};
  statement existing{db_, "SELECT id FROM proctor_jobs WHERE key = ?1"};
  for (auto& job : jobs) {
    if (job.key.empty())
      insert.bind_null(1);
    else
      insert.bind(1, job.key);
    insert.bind(2, job.task).bind_blob(3, job.args).bind(4, job.priority).bind(5, job.run_at_ms);
    insert.bind(6, static_cast<std::int64_t>(job.max_attempts == 0 ? 1 : job.max_attempts));
    if (insert.step()) {
      ids.push_back(static_cast<std::uint64_t>(insert.integer(0)));
      while (insert.step()) {
      }
    } else {
      existing.bind(1, job.key);
      if (!existing.step())
        refused(db_, "a job's key conflicts but names no job");
      ids.push_back(static_cast<std::uint64_t>(existing.integer(0)));
      existing.reset();
    }
    insert.reset();
  }
  txn.commit();
  return ids;
}

std::vector<claimed_job> sqlite_store::claim(std::string_view owner, std::size_t max,
                                             std::int64_t now_ms) {
  std::vector<claimed_job> out;
  transaction txn{db_};
  statement take{db_, "UPDATE proctor_jobs SET state = 1, attempts = attempts + 1, owner = ?1 "
                      "WHERE id IN (SELECT id FROM proctor_jobs WHERE state = 0 AND run_at <= ?2 "
                      "ORDER BY priority DESC, run_at, id LIMIT ?3) "
                      "RETURNING id, task, args, attempts"};
  take.bind(1, owner).bind(2, now_ms).bind(3, static_cast<std::int64_t>(max));
  while (take.step())
    out.push_back({static_cast<std::uint64_t>(take.integer(0)), take.text(1), take.blob(2),
                   static_cast<std::uint32_t>(take.integer(3))});
  txn.commit();
  return out;
}

bool sqlite_store::finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result) {
  statement done{db_, "UPDATE proctor_jobs SET state = 2, result = ?1, owner = NULL, error = NULL "
                      "WHERE id = ?2 AND state = 1 AND attempts = ?3"};
  done.bind_blob(1, result).bind(2, static_cast<std::int64_t>(id)).bind(3, attempt);
  done.step();
  return sqlite3_changes(db_) == 1;
}

bool sqlite_store::fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
                        std::int64_t retry_at_ms) {
  statement failed{db_, "UPDATE proctor_jobs SET "
                        "state = CASE WHEN attempts < max_attempts THEN 0 ELSE 3 END, "
                        "run_at = ?1, error = ?2, owner = NULL "
                        "WHERE id = ?3 AND state = 1 AND attempts = ?4"};
  failed.bind(1, retry_at_ms).bind(2, error).bind(3, static_cast<std::int64_t>(id)).bind(4, attempt);
  failed.step();
  return sqlite3_changes(db_) == 1;
}

std::uint64_t sqlite_store::resume(std::string_view owner) {
  // The attempt that died with its master counts: one that was the last
  // goes to the dead letters.
  statement again{db_, "UPDATE proctor_jobs SET "
                       "state = CASE WHEN attempts < max_attempts THEN 0 ELSE 3 END, "
                       "error = CASE WHEN attempts < max_attempts THEN error "
                       "ELSE 'its master ended while it ran' END, owner = NULL "
                       "WHERE state = 1 AND owner IS NOT ?1"};
  again.bind(1, owner);
  again.step();
  return static_cast<std::uint64_t>(sqlite3_changes(db_));
}

bool sqlite_store::requeue(std::uint64_t id) {
  statement again{db_, "UPDATE proctor_jobs SET state = 0, attempts = 0 "
                       "WHERE id = ?1 AND state = 3"};
  again.bind(1, static_cast<std::int64_t>(id));
  again.step();
  return sqlite3_changes(db_) == 1;
}

std::optional<job_record> sqlite_store::get(std::uint64_t id) {
  statement one{db_, "SELECT id, task, key, state, attempts, max_attempts, run_at, result, error "
                     "FROM proctor_jobs WHERE id = ?1"};
  one.bind(1, static_cast<std::int64_t>(id));
  if (!one.step())
    return std::nullopt;
  job_record r;
  r.id = static_cast<std::uint64_t>(one.integer(0));
  r.task = one.text(1);
  r.key = one.text(2);
  r.state = static_cast<job_state>(one.integer(3));
  r.attempts = static_cast<std::uint32_t>(one.integer(4));
  r.max_attempts = static_cast<std::uint32_t>(one.integer(5));
  r.run_at_ms = one.integer(6);
  r.result = one.blob(7);
  r.error = one.text(8);
  return r;
}

job_counts sqlite_store::counts() {
  job_counts c;
  statement by_state{db_, "SELECT state, count(*) FROM proctor_jobs GROUP BY state"};
  while (by_state.step()) {
    auto n = static_cast<std::uint64_t>(by_state.integer(1));
    switch (static_cast<job_state>(by_state.integer(0))) {
      case job_state::queued: c.queued = n; break;
      case job_state::running: c.running = n; break;
      case job_state::done: c.done = n; break;
      case job_state::dead: c.dead = n; break;
    }
  }
  statement oldest{db_, "SELECT min(run_at) FROM proctor_jobs WHERE state = 0"};
  if (oldest.step())
    c.oldest_queued_ms = oldest.integer(0);
  return c;
}

job_store::~job_store() = default;

} // namespace proctor::internal
