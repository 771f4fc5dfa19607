#include "runtime/jobs/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <tuple>

#include <sqlite3.h>

#include "proctor/errc.hpp"
#include "runtime/jobs/local_owner.hpp"
#include "runtime/jobs/store_values.hpp"

namespace proctor::internal {

using sqlite::statement_use;

namespace {

/// The layout this code reads and writes (PRAGMA user_version).
constexpr int schema_version = 1;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS proctor_jobs (
  id           INTEGER PRIMARY KEY,
  key          TEXT UNIQUE,
  task         TEXT NOT NULL,
  args         BLOB NOT NULL,
  state        INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
  priority     INTEGER NOT NULL CHECK (priority BETWEEN -2147483648 AND 2147483647),
  run_at       INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND max_attempts),
  max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 4294967295),
  timeout_ms   INTEGER NOT NULL CHECK (timeout_ms >= 0),
  owner        TEXT,
  result       BLOB,
  error        TEXT,
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX IF NOT EXISTS proctor_jobs_due
  ON proctor_jobs (state, priority DESC, run_at, id);
CREATE INDEX IF NOT EXISTS proctor_jobs_next ON proctor_jobs (state, run_at);
CREATE TEMP TABLE IF NOT EXISTS proctor_tasks (task TEXT PRIMARY KEY);
PRAGMA user_version = 1;
)sql";

} // namespace

sqlite_store::sqlite_store(const std::string& path, bool durable_sync) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr)
      != SQLITE_OK) {
    std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw error(errc::store_failed, "proctor: jobs store: cannot open " + path + ": " + why);
  }
  try {
    // Another master holding the write lock makes this one wait, briefly.
    sqlite3_busy_timeout(db_, 5000);
    // The file is data, not code: no triggers or views of its own run with
    // side effects, and no statement can corrupt it on purpose.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
    sqlite::run(db_, "PRAGMA journal_mode=WAL");
    sqlite::run(db_, durable_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    std::int64_t version = 0;
    {
      auto q = use("PRAGMA user_version");
      if (q->step())
        version = q->integer(0);
    }
    if (version > schema_version)
      throw error(errc::store_failed, "proctor: jobs store: " + path
                                        + " was made by a newer proctor (layout "
                                        + std::to_string(version) + ")");
    sqlite::run(db_, schema);
  } catch (...) {
    cache_.clear();
    sqlite3_close(db_);
    throw;
  }
}

sqlite_store::~sqlite_store() {
  cache_.clear();
  sqlite3_close(db_);
}

sqlite::statement_use sqlite_store::use(const char* sql) {
  auto& s = cache_[sql];
  if (!s)
    s = std::make_unique<sqlite::statement>(db_, sql);
  return statement_use{*s};
}

std::uint64_t sqlite_store::changes() const {
  return static_cast<std::uint64_t>(sqlite3_changes64(db_));
}

void sqlite_store::transact(const std::function<void()>& work, bool writes) {
  sqlite::transaction txn{db_, writes};
  work();
  txn.commit();
}

std::vector<std::uint64_t> sqlite_store::enqueue(std::span<const job_spec> jobs) {
  std::vector<std::uint64_t> ids;
  ids.reserve(jobs.size());
  auto now = wall_ms();
  sqlite::transaction txn{db_};
  for (auto& job : jobs) {
    auto insert = use("INSERT INTO proctor_jobs (key, task, args, state, priority, run_at, "
                      "max_attempts, timeout_ms, created_at) "
                      "VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8) "
                      "ON CONFLICT (key) DO NOTHING RETURNING id");
    if (job.key.empty())
      insert->bind_null(1);
    else
      insert->bind(1, job.key);
    insert->bind(2, job.task).bind_blob(3, job.args).bind(4, job.priority);
    insert->bind(5, job.run_at_ms);
    insert->bind(6, static_cast<std::int64_t>(job.max_attempts == 0 ? 1 : job.max_attempts));
    insert->bind(7, job.timeout_ms).bind(8, now);
    if (insert->step()) {
      ids.push_back(static_cast<std::uint64_t>(insert->integer(0)));
      insert->finish();
      continue;
    }
    auto existing = use("SELECT id FROM proctor_jobs WHERE key = ?1");
    existing->bind(1, job.key);
    if (!existing->step())
      sqlite::refused(db_, "a job's key conflicts but names no job");
    ids.push_back(static_cast<std::uint64_t>(existing->integer(0)));
  }
  txn.commit();
  return ids;
}

void sqlite_store::set_tasks(const std::vector<std::string>& names) {
  sqlite::transaction txn{db_};
  sqlite::run(db_, "DELETE FROM temp.proctor_tasks");
  for (auto& name : names) {
    auto add = use("INSERT OR IGNORE INTO temp.proctor_tasks (task) VALUES (?1)");
    add->bind(1, name).finish();
  }
  txn.commit();
  tasks_filtered_ = true;
}

std::vector<claimed_job> sqlite_store::claim(std::string_view owner, std::size_t max,
                                             std::int64_t now_ms) {
  std::vector<claimed_job> out;
  sqlite::transaction txn{db_};
  // The claim walks the due index in its order and stops at `max`; left
  // to itself, the planner may take the (state, run_at) index and sort
  // every due job instead.
  auto take = use(
    tasks_filtered_
      ? "UPDATE proctor_jobs SET state = 1, attempts = attempts + 1, owner = ?1 "
        "WHERE id IN (SELECT id FROM proctor_jobs INDEXED BY proctor_jobs_due "
        "WHERE state = 0 AND run_at <= ?2 "
        "AND task IN (SELECT task FROM temp.proctor_tasks) "
        "ORDER BY priority DESC, run_at, id LIMIT ?3) "
        "RETURNING id, task, args, attempts, max_attempts, timeout_ms, priority, run_at"
      : "UPDATE proctor_jobs SET state = 1, attempts = attempts + 1, owner = ?1 "
        "WHERE id IN (SELECT id FROM proctor_jobs INDEXED BY proctor_jobs_due "
        "WHERE state = 0 AND run_at <= ?2 "
        "ORDER BY priority DESC, run_at, id LIMIT ?3) "
        "RETURNING id, task, args, attempts, max_attempts, timeout_ms, priority, run_at");
  take->bind(1, owner).bind(2, now_ms).bind(3, static_cast<std::int64_t>(max));
  while (take->step()) {
    claimed_job job;
    job.id = static_cast<std::uint64_t>(take->integer(0));
    job.task = take->text(1);
    job.args = take->blob(2);
    job.attempt = in_range<std::uint32_t>(take->integer(3), "attempts");
    job.max_attempts = in_range<std::uint32_t>(take->integer(4), "max_attempts");
    job.timeout_ms = take->integer(5);
    job.priority = in_range<std::int32_t>(take->integer(6), "priority");
    job.run_at_ms = take->integer(7);
    out.push_back(std::move(job));
  }
  txn.commit();
  sort_to_run(out);
  return out;
}

std::optional<std::int64_t> sqlite_store::next_due() {
  auto q = use(tasks_filtered_
                 ? "SELECT min(run_at) FROM proctor_jobs WHERE state = 0 "
                   "AND task IN (SELECT task FROM temp.proctor_tasks)"
                 : "SELECT min(run_at) FROM proctor_jobs WHERE state = 0");
  if (!q->step() || q->text(0).empty())
    return std::nullopt;
  return q->integer(0);
}

bool sqlite_store::changed_elsewhere() {
  auto q = use("PRAGMA data_version");
  auto version = q->step() ? q->integer(0) : 0;
  bool changed = version != data_version_;
  data_version_ = version;
  return changed;
}

bool sqlite_store::finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result,
                          std::int64_t now_ms) {
  auto done = use("UPDATE proctor_jobs SET state = 2, result = ?1, owner = NULL, error = NULL, "
                  "finished_at = ?4 WHERE id = ?2 AND state = 1 AND attempts = ?3");
  done->bind_blob(1, result).bind(2, static_cast<std::int64_t>(id)).bind(3, attempt);
  done->bind(4, now_ms).finish();
  return changes() == 1;
}

bool sqlite_store::fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
                        std::int64_t retry_at_ms, bool final, std::int64_t now_ms) {
  auto failed = use("UPDATE proctor_jobs SET "
                    "state = CASE WHEN attempts < max_attempts AND NOT ?5 THEN 0 ELSE 3 END, "
                    "finished_at = CASE WHEN attempts < max_attempts AND NOT ?5 THEN NULL "
                    "ELSE ?6 END, run_at = ?1, error = ?2, owner = NULL "
                    "WHERE id = ?3 AND state = 1 AND attempts = ?4");
  failed->bind(1, retry_at_ms).bind(2, error).bind(3, static_cast<std::int64_t>(id));
  failed->bind(4, attempt).bind(5, final ? 1 : 0).bind(6, now_ms).finish();
  return changes() == 1;
}

bool sqlite_store::give_back(std::uint64_t id, std::uint32_t attempt) {
  auto back = use("UPDATE proctor_jobs SET state = 0, attempts = attempts - 1, owner = NULL "
                  "WHERE id = ?1 AND state = 1 AND attempts = ?2");
  back->bind(1, static_cast<std::int64_t>(id)).bind(2, attempt).finish();
  return changes() == 1;
}

std::string sqlite_store::owner() {
  return owner_;
}

bool sqlite_store::owner_alive(std::string_view owner) {
  return local_owner_alive(owner);
}

std::vector<std::string> sqlite_store::running_owners() {
  std::vector<std::string> out;
  auto q = use("SELECT DISTINCT owner FROM proctor_jobs WHERE state = 1");
  while (q->step())
    out.push_back(q->text(0));
  return out;
}

std::uint64_t sqlite_store::release(std::string_view owner, std::int64_t now_ms) {
  // The attempt that ended with its master counts: one that was the last
  // goes to the dead letters.
  auto again = use("UPDATE proctor_jobs SET "
                   "state = CASE WHEN attempts < max_attempts THEN 0 ELSE 3 END, "
                   "finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE ?2 END, "
                   "error = CASE WHEN attempts < max_attempts THEN error "
                   "ELSE 'its master ended while it ran' END, owner = NULL "
                   "WHERE state = 1 AND owner = ?1");
  again->bind(1, owner).bind(2, now_ms).finish();
  return changes();
}

bool sqlite_store::requeue(std::uint64_t id, std::int64_t now_ms) {
  auto again = use("UPDATE proctor_jobs SET state = 0, attempts = 0, run_at = ?2, "
                   "finished_at = NULL WHERE id = ?1 AND state = 3");
  again->bind(1, static_cast<std::int64_t>(id)).bind(2, now_ms).finish();
  return changes() == 1;
}

std::uint64_t sqlite_store::purge(std::int64_t before_ms, bool dead) {
  auto gone = use("DELETE FROM proctor_jobs WHERE (state = 2 OR (?2 AND state = 3)) "
                  "AND finished_at < ?1");
  gone->bind(1, before_ms).bind(2, dead ? 1 : 0).finish();
  return changes();
}

namespace {

/// A record's columns; get() adds the result, list() does not read it.
constexpr const char* record_columns
  = "id, task, key, state, priority, attempts, max_attempts, run_at, created_at, finished_at, "
    "error";

job_record read_record(const sqlite::statement& q, bool with_result) {
  job_record r;
  r.id = static_cast<std::uint64_t>(q.integer(0));
  r.task = q.text(1);
  r.key = q.text(2);
  r.state = state_of(q.integer(3));
  r.priority = in_range<std::int32_t>(q.integer(4), "priority");
  r.attempts = in_range<std::uint32_t>(q.integer(5), "attempts");
  r.max_attempts = in_range<std::uint32_t>(q.integer(6), "max_attempts");
  r.run_at_ms = q.integer(7);
  r.created_ms = q.integer(8);
  r.finished_ms = q.integer(9);
  r.error = q.text(10);
  if (with_result)
    r.result = q.blob(11);
  return r;
}

} // namespace

std::optional<job_record> sqlite_store::get(std::uint64_t id) {
  static const std::string sql
    = std::string{"SELECT "} + record_columns + ", result FROM proctor_jobs WHERE id = ?1";
  auto one = use(sql.c_str());
  one->bind(1, static_cast<std::int64_t>(id));
  if (!one->step())
    return std::nullopt;
  return read_record(*one, true);
}

std::vector<job_record> sqlite_store::list(job_state state, std::uint64_t after,
                                           std::size_t max) {
  static const std::string sql = std::string{"SELECT "} + record_columns
                                 + " FROM proctor_jobs WHERE state = ?1 AND id > ?2 "
                                   "ORDER BY id LIMIT ?3";
  std::vector<job_record> out;
  auto q = use(sql.c_str());
  q->bind(1, static_cast<std::int64_t>(state)).bind(2, static_cast<std::int64_t>(after));
  q->bind(3, static_cast<std::int64_t>(max));
  while (q->step())
    out.push_back(read_record(*q, false));
  return out;
}

job_counts sqlite_store::counts() {
  job_counts c;
  {
    auto by_state = use("SELECT state, count(*) FROM proctor_jobs GROUP BY state");
    while (by_state->step()) {
      auto n = static_cast<std::uint64_t>(by_state->integer(1));
      switch (state_of(by_state->integer(0))) {
        case job_state::queued: c.queued = n; break;
        case job_state::running: c.running = n; break;
        case job_state::done: c.done = n; break;
        case job_state::dead: c.dead = n; break;
      }
    }
  }
  auto oldest = use("SELECT min(run_at) FROM proctor_jobs WHERE state = 0");
  if (oldest->step())
    c.oldest_due_ms = oldest->integer(0);
  return c;
}

bool sqlite_store::pending() {
  auto q = use("SELECT 1 FROM proctor_jobs WHERE state IN (0, 1) LIMIT 1");
  return q->step();
}

job_store::~job_store() = default;

} // namespace proctor::internal
