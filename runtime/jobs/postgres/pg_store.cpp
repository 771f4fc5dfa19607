#include "runtime/jobs/postgres/pg_store.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <thread>
#include <tuple>
#include <utility>

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "runtime/jobs/postgres/pg_listener.hpp"
#include "runtime/jobs/store_values.hpp"

namespace proctor::internal {

namespace {

constexpr const char* schema = R"sql(
SELECT pg_advisory_xact_lock(7210310498);
CREATE TABLE IF NOT EXISTS proctor_jobs (
  id           BIGSERIAL PRIMARY KEY,
  key          TEXT UNIQUE,
  task         TEXT NOT NULL,
  args         BYTEA NOT NULL,
  state        SMALLINT NOT NULL CHECK (state BETWEEN 0 AND 3),
  priority     INTEGER NOT NULL,
  run_at       BIGINT NOT NULL,
  attempts     BIGINT NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND max_attempts),
  max_attempts BIGINT NOT NULL CHECK (max_attempts BETWEEN 1 AND 4294967295),
  timeout_ms   BIGINT NOT NULL CHECK (timeout_ms >= 0),
  owner        TEXT,
  result       BYTEA,
  error        TEXT,
  created_at   BIGINT NOT NULL,
  finished_at  BIGINT
);
CREATE INDEX IF NOT EXISTS proctor_jobs_due
  ON proctor_jobs (state, priority DESC, run_at, id);
CREATE INDEX IF NOT EXISTS proctor_jobs_next ON proctor_jobs (state, run_at);
)sql";

[[noreturn]] void refused(const std::string& what) {
  throw error(errc::store_failed, "proctor: jobs store (PostgreSQL): " + what);
}

std::string trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

/// Parameters of one statement: text (numbers as decimals) or binary
/// (bytea), held until the statement ran.
class pg_store::params {
public:
  params& add(std::int64_t v) {
    return text(std::to_string(v));
  }
  params& add(std::string_view v) {
    return text(std::string{v});
  }
  params& null() {
    values_.push_back(nullptr);
    lengths_.push_back(0);
    formats_.push_back(0);
    return *this;
  }
  /// Bytes read from `v` when the statement runs: `v` outlives it.
  params& blob(std::span<const char> v) {
    values_.push_back(v.empty() ? "" : v.data());
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
    return *this;
  }

  int size() const {
    return static_cast<int>(values_.size());
  }
  const char* const* values() const {
    return values_.data();
  }
  const int* lengths() const {
    return lengths_.data();
  }
  const int* formats() const {
    return formats_.data();
  }

private:
  params& text(std::string s) {
    held_.push_back(std::move(s));
    values_.push_back(held_.back().c_str());
    lengths_.push_back(0);
    formats_.push_back(0);
    return *this;
  }

  std::deque<std::string> held_; ///< stable addresses
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

/// A statement's result rows (text format), cleared with it.
class pg_store::rows {
public:
  explicit rows(PGresult* r) noexcept : r_(r) {
  }
  rows(rows&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {
  }
  rows& operator=(rows&&) = delete;
  ~rows() {
    PQclear(r_);
  }

  int count() const {
    return PQntuples(r_);
  }
  std::uint64_t changed() const {
    auto* n = PQcmdTuples(r_);
    return n != nullptr && *n != '\0' ? std::stoull(n) : 0;
  }
  bool null(int row, int col) const {
    return PQgetisnull(r_, row, col) != 0;
  }
  std::int64_t integer(int row, int col) const {
    if (null(row, col))
      return 0;
    try {
      return std::stoll(PQgetvalue(r_, row, col));
    } catch (const std::exception&) {
      refused("a number that is not one");
    }
  }
  std::string text(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
  }
  std::vector<char> bytes(int row, int col) const {
    if (null(row, col))
      return {};
    std::size_t n = 0;
    auto* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)),
                                &n);
    if (raw == nullptr)
      refused("a blob that does not decode");
    std::vector<char> out(reinterpret_cast<char*>(raw), reinterpret_cast<char*>(raw) + n);
    PQfreemem(raw);
    return out;
  }

private:
  PGresult* r_;
};

pg_store::pg_store(std::string conninfo) : conninfo_(std::move(conninfo)) {
  connection();
  exec("BEGIN");
  try {
    exec(schema);
    exec("COMMIT");
  } catch (...) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
}

pg_store::~pg_store() {
  listener_.reset();
  PQfinish(conn_);
}

pg_conn* pg_store::connection() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK)
    return conn_;
  if (conn_ != nullptr)
    PQfinish(conn_);
  in_transaction_ = false;
  conn_ = PQconnectdb(conninfo_.c_str());
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    auto why = trimmed(conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory");
    PQfinish(conn_);
    conn_ = nullptr;
    refused("cannot connect: " + why);
  }
  // The session is the owner: its backend's pid and start, which no later
  // session has again.
  auto me = exec("SELECT pg_backend_pid(), "
                 "(extract(epoch FROM backend_start) * 1000000)::bigint "
                 "FROM pg_stat_activity WHERE pid = pg_backend_pid()");
  if (me.count() != 1)
    refused("cannot tell this session's backend");
  owner_ = "pg/" + me.text(0, 0) + "/" + me.text(0, 1);
  notified_ = true; // what others did while it was away
  return conn_;
}

pg_store::rows pg_store::exec(const char* sql) {
  return exec(sql, params{});
}

pg_store::rows pg_store::exec(const char* sql, const params& p) {
  auto* conn = connection();
  // Without parameters, a script of several statements may run (the schema).
  auto* raw = p.size() == 0 ? PQexec(conn, sql)
                            : PQexecParams(conn, sql, p.size(), nullptr, p.values(), p.lengths(),
                                           p.formats(), 0);
  rows r{raw};
  auto status = PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    auto why = trimmed(raw != nullptr ? PQresultErrorMessage(raw) : PQerrorMessage(conn));
    if (PQstatus(conn) != CONNECTION_OK) {
      // Gone with the connection: the transaction, the session, its owner.
      PQfinish(conn_);
      conn_ = nullptr;
      in_transaction_ = false;
      refused("the connection broke: " + why);
    }
    refused(why);
  }
  return r;
}

void pg_store::transact(const std::function<void()>& work, bool writes) {
  if (in_transaction_) {
    work();
    return;
  }
  exec(writes ? "BEGIN" : "BEGIN READ ONLY");
  in_transaction_ = true;
  try {
    work();
    exec("COMMIT");
    in_transaction_ = false;
  } catch (...) {
    if (conn_ != nullptr && in_transaction_) {
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
    in_transaction_ = false;
    throw;
  }
}

namespace {

/// One statement of the store's own, in its own transaction unless inside one.
template <class F>
auto once(pg_store& s, bool writes, F f) {
  decltype(f()) out{};
  s.transact([&] { out = f(); }, writes);
  return out;
}

} // namespace

std::vector<std::uint64_t> pg_store::enqueue(std::span<const job_spec> jobs) {
  return once(*this, true, [&] {
    std::vector<std::uint64_t> ids;
    ids.reserve(jobs.size());
    auto now = wall_ms();
    for (auto& job : jobs) {
      params p;
      if (job.key.empty())
        p.null();
      else
        p.add(job.key);
      p.add(job.task).blob(job.args).add(job.priority).add(job.run_at_ms);
      p.add(static_cast<std::int64_t>(std::max<std::uint32_t>(job.max_attempts, 1)));
      p.add(job.timeout_ms).add(now);
      auto added = exec("INSERT INTO proctor_jobs (key, task, args, state, priority, run_at, "
                        "max_attempts, timeout_ms, created_at) "
                        "VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8) "
                        "ON CONFLICT (key) DO NOTHING RETURNING id",
                        p);
      if (added.count() == 1) {
        ids.push_back(static_cast<std::uint64_t>(added.integer(0, 0)));
        continue;
      }
      params k;
      k.add(job.key);
      auto existing = exec("SELECT id FROM proctor_jobs WHERE key = $1", k);
      if (existing.count() != 1)
        refused("a job's key conflicts but names no job");
      ids.push_back(static_cast<std::uint64_t>(existing.integer(0, 0)));
    }
    // Delivered at commit: wakes the other masters.
    exec("NOTIFY proctor_jobs");
    return ids;
  });
}

void pg_store::set_tasks(const std::vector<std::string>& names) {
  // A text[] literal: each name quoted, its quotes and backslashes escaped.
  std::string array = "{";
  for (auto& name : names) {
    if (array.size() > 1)
      array += ',';
    array += '"';
    for (char c : name) {
      if (c == '"' || c == '\\')
        array += '\\';
      array += c;
    }
    array += '"';
  }
  tasks_ = array + "}";
}

std::vector<claimed_job> pg_store::claim(std::string_view owner, std::size_t max,
                                         std::int64_t now_ms) {
  auto out = once(*this, true, [&] {
    params p;
    p.add(owner).add(now_ms).add(static_cast<std::int64_t>(max));
    if (!tasks_.empty())
      p.add(tasks_);
    auto taken = exec(
      tasks_.empty()
        ? "UPDATE proctor_jobs SET state = 1, attempts = attempts + 1, owner = $1 "
          "WHERE id IN (SELECT id FROM proctor_jobs WHERE state = 0 AND run_at <= $2 "
          "ORDER BY priority DESC, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
          "RETURNING id, task, args, attempts, max_attempts, timeout_ms, priority, run_at"
        : "UPDATE proctor_jobs SET state = 1, attempts = attempts + 1, owner = $1 "
          "WHERE id IN (SELECT id FROM proctor_jobs WHERE state = 0 AND run_at <= $2 "
          "AND task = ANY ($4::text[]) "
          "ORDER BY priority DESC, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
          "RETURNING id, task, args, attempts, max_attempts, timeout_ms, priority, run_at",
      p);
    std::vector<claimed_job> jobs;
    for (int i = 0; i < taken.count(); ++i) {
      claimed_job job;
      job.id = static_cast<std::uint64_t>(taken.integer(i, 0));
      job.task = taken.text(i, 1);
      job.args = taken.bytes(i, 2);
      job.attempt = in_range<std::uint32_t>(taken.integer(i, 3), "attempts");
      job.max_attempts = in_range<std::uint32_t>(taken.integer(i, 4), "max_attempts");
      job.timeout_ms = taken.integer(i, 5);
      job.priority = in_range<std::int32_t>(taken.integer(i, 6), "priority");
      job.run_at_ms = taken.integer(i, 7);
      jobs.push_back(std::move(job));
    }
    return jobs;
  });
  sort_to_run(out);
  return out;
}

std::optional<std::int64_t> pg_store::next_due() {
  params p;
  if (!tasks_.empty())
    p.add(tasks_);
  auto due = tasks_.empty()
               ? exec("SELECT min(run_at) FROM proctor_jobs WHERE state = 0")
               : exec("SELECT min(run_at) FROM proctor_jobs WHERE state = 0 "
                      "AND task = ANY ($1::text[])",
                      p);
  if (due.count() != 1 || due.null(0, 0))
    return std::nullopt;
  return due.integer(0, 0);
}

bool pg_store::changed_elsewhere() {
  return notified_.exchange(false);
}

bool pg_store::finish(std::uint64_t id, std::uint32_t attempt, std::span<const char> result,
                      std::int64_t now_ms) {
  params p;
  p.blob(result).add(static_cast<std::int64_t>(id)).add(std::int64_t{attempt}).add(now_ms);
  return exec("UPDATE proctor_jobs SET state = 2, result = $1, owner = NULL, error = NULL, "
              "finished_at = $4 WHERE id = $2 AND state = 1 AND attempts = $3",
              p)
           .changed()
         == 1;
}

bool pg_store::fail(std::uint64_t id, std::uint32_t attempt, std::string_view error,
                    std::int64_t retry_at_ms, bool final, std::int64_t now_ms) {
  params p;
  p.add(retry_at_ms).add(error).add(static_cast<std::int64_t>(id)).add(std::int64_t{attempt});
  p.add(std::string_view{final ? "true" : "false"}).add(now_ms);
  auto changed = exec("UPDATE proctor_jobs SET "
                      "state = CASE WHEN attempts < max_attempts AND NOT $5::boolean "
                      "THEN 0 ELSE 3 END, "
                      "finished_at = CASE WHEN attempts < max_attempts AND NOT $5::boolean "
                      "THEN NULL ELSE $6::bigint END, run_at = $1, error = $2, owner = NULL "
                      "WHERE id = $3 AND state = 1 AND attempts = $4",
                      p)
                   .changed();
  if (changed == 1)
    exec("NOTIFY proctor_jobs");
  return changed == 1;
}

bool pg_store::give_back(std::uint64_t id, std::uint32_t attempt) {
  params p;
  p.add(static_cast<std::int64_t>(id)).add(std::int64_t{attempt});
  auto changed = exec("UPDATE proctor_jobs SET state = 0, attempts = attempts - 1, owner = NULL "
                      "WHERE id = $1 AND state = 1 AND attempts = $2",
                      p)
                   .changed();
  if (changed == 1)
    exec("NOTIFY proctor_jobs");
  return changed == 1;
}

std::string pg_store::owner() {
  connection();
  return owner_;
}

bool pg_store::owner_alive(std::string_view owner) {
  // pg/PID/START: alive while that session is.
  auto first = owner.find('/');
  auto second = owner.find('/', first == std::string_view::npos ? first : first + 1);
  if (owner.substr(0, 3) != "pg/" || second == std::string_view::npos)
    return false;
  params p;
  p.add(owner.substr(first + 1, second - first - 1)).add(owner.substr(second + 1));
  try {
    return exec("SELECT 1 FROM pg_stat_activity WHERE pid = $1::integer "
                "AND (extract(epoch FROM backend_start) * 1000000)::bigint = $2::bigint",
                p)
             .count()
           == 1;
  } catch (const error&) {
    return true; // cannot tell: leave its jobs alone
  }
}

std::vector<std::string> pg_store::running_owners() {
  auto r = exec("SELECT DISTINCT owner FROM proctor_jobs WHERE state = 1 AND owner IS NOT NULL");
  std::vector<std::string> out;
  for (int i = 0; i < r.count(); ++i)
    out.push_back(r.text(i, 0));
  return out;
}

std::uint64_t pg_store::release(std::string_view owner, std::int64_t now_ms) {
  params p;
  p.add(owner).add(now_ms);
  auto n = exec("UPDATE proctor_jobs SET "
                "state = CASE WHEN attempts < max_attempts THEN 0 ELSE 3 END, "
                "finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE $2::bigint END, "
                "error = CASE WHEN attempts < max_attempts THEN error "
                "ELSE 'its master ended while it ran' END, owner = NULL "
                "WHERE state = 1 AND owner = $1",
                p)
             .changed();
  if (n > 0)
    exec("NOTIFY proctor_jobs");
  return n;
}

bool pg_store::requeue(std::uint64_t id, std::int64_t now_ms) {
  params p;
  p.add(static_cast<std::int64_t>(id)).add(now_ms);
  auto changed = exec("UPDATE proctor_jobs SET state = 0, attempts = 0, run_at = $2, "
                      "finished_at = NULL WHERE id = $1 AND state = 3",
                      p)
                   .changed();
  if (changed == 1)
    exec("NOTIFY proctor_jobs");
  return changed == 1;
}

std::uint64_t pg_store::purge(std::int64_t before_ms, bool dead) {
  params p;
  p.add(before_ms).add(std::string_view{dead ? "true" : "false"});
  return exec("DELETE FROM proctor_jobs WHERE (state = 2 OR ($2::boolean AND state = 3)) "
              "AND finished_at < $1",
              p)
    .changed();
}

namespace {

constexpr const char* record_columns
  = "id, task, coalesce(key, ''), state, priority, attempts, max_attempts, run_at, created_at, "
    "coalesce(finished_at, 0), coalesce(error, '')";

template <class Rows>
job_record read_record(const Rows& r, int i, bool with_result) {
  job_record rec;
  rec.id = static_cast<std::uint64_t>(r.integer(i, 0));
  rec.task = r.text(i, 1);
  rec.key = r.text(i, 2);
  rec.state = state_of(r.integer(i, 3));
  rec.priority = in_range<std::int32_t>(r.integer(i, 4), "priority");
  rec.attempts = in_range<std::uint32_t>(r.integer(i, 5), "attempts");
  rec.max_attempts = in_range<std::uint32_t>(r.integer(i, 6), "max_attempts");
  rec.run_at_ms = r.integer(i, 7);
  rec.created_ms = r.integer(i, 8);
  rec.finished_ms = r.integer(i, 9);
  rec.error = r.text(i, 10);
  if (with_result)
    rec.result = r.bytes(i, 11);
  return rec;
}

} // namespace

std::optional<job_record> pg_store::get(std::uint64_t id) {
  static const std::string sql
    = std::string{"SELECT "} + record_columns + ", result FROM proctor_jobs WHERE id = $1";
  params p;
  p.add(static_cast<std::int64_t>(id));
  auto r = exec(sql.c_str(), p);
  if (r.count() != 1)
    return std::nullopt;
  return read_record(r, 0, true);
}

std::vector<job_record> pg_store::list(job_state state, std::uint64_t after, std::size_t max) {
  static const std::string sql = std::string{"SELECT "} + record_columns
                                 + " FROM proctor_jobs WHERE state = $1 AND id > $2 "
                                   "ORDER BY id LIMIT $3";
  params p;
  p.add(static_cast<std::int64_t>(state)).add(static_cast<std::int64_t>(after));
  p.add(static_cast<std::int64_t>(max));
  auto r = exec(sql.c_str(), p);
  std::vector<job_record> out;
  for (int i = 0; i < r.count(); ++i)
    out.push_back(read_record(r, i, false));
  return out;
}

job_counts pg_store::counts() {
  job_counts c;
  auto by_state = exec("SELECT state, count(*) FROM proctor_jobs GROUP BY state");
  for (int i = 0; i < by_state.count(); ++i) {
    auto n = static_cast<std::uint64_t>(by_state.integer(i, 1));
    switch (by_state.integer(i, 0)) {
      case 0: c.queued = n; break;
      case 1: c.running = n; break;
      case 2: c.done = n; break;
      case 3: c.dead = n; break;
      default: refused("a job's state is not one this proctor knows");
    }
  }
  auto oldest = exec("SELECT coalesce(min(run_at), 0) FROM proctor_jobs WHERE state = 0");
  c.oldest_due_ms = oldest.integer(0, 0);
  return c;
}

bool pg_store::pending() {
  return exec("SELECT 1 FROM proctor_jobs WHERE state IN (0, 1) LIMIT 1").count() == 1;
}

void pg_store::on_change(std::function<void()> wake) {
  listener_ = std::make_unique<pg_listener>(conninfo_, "proctor_jobs", [this, wake] {
    notified_ = true;
    wake();
  });
}

} // namespace proctor::internal
