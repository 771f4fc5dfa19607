// anchor.sqlite.txn_per_s: the writes of proctor.jobs.sqlite_per_s on a
// bare SQLite connection, with nothing else: the same table, indexes and
// statements, WAL and synchronous=NORMAL; jobs inserted 1000 per
// transaction, then, 128 at a time, one transaction records the results
// of the last 128 jobs claimed and claims the next (UPDATE ... RETURNING),
// as a master with two workers and tiny jobs does at best (its 256 jobs in
// flight, committed half at a time). Prints jobs per second: one job is one
// insert, one claim and one finish.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

sqlite3* db = nullptr;

void run(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite_anchor: %s\n", message != nullptr ? message : "?");
    std::exit(1);
  }
}

sqlite3_stmt* prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite_anchor: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
  return s;
}

void done(sqlite3_stmt* s) {
  while (sqlite3_step(s) == SQLITE_ROW) {
  }
  sqlite3_reset(s);
}

} // namespace

int main() {
  constexpr int n = 20000;
  constexpr int insert_batch = 1000;
  constexpr int in_flight = 128;
  auto path = std::filesystem::temp_directory_path()
              / ("proctor-sqlite-anchor-" + std::to_string(::getpid()) + ".db");
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
    return 1;
  run("PRAGMA journal_mode=WAL");
  run("PRAGMA synchronous=NORMAL");
  run("CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT UNIQUE, task TEXT NOT NULL, "
      "args BLOB NOT NULL, state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3), "
      "priority INTEGER NOT NULL CHECK (priority BETWEEN -2147483648 AND 2147483647), "
      "run_at INTEGER NOT NULL, "
      "attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND max_attempts), "
      "max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 4294967295), "
      "timeout_ms INTEGER NOT NULL CHECK (timeout_ms >= 0), owner TEXT, result BLOB, "
      "error TEXT, created_at INTEGER NOT NULL, finished_at INTEGER);"
      "CREATE INDEX jobs_due ON jobs (state, priority DESC, run_at, id);"
      "CREATE INDEX jobs_next ON jobs (state, run_at);"
      "CREATE TEMP TABLE tasks (task TEXT PRIMARY KEY);"
      "INSERT INTO temp.tasks VALUES ('bench_job');");
  auto insert = prepare("INSERT INTO jobs (key, task, args, state, priority, run_at, "
                        "max_attempts, timeout_ms, created_at) "
                        "VALUES (NULL, 'bench_job', ?1, 0, 0, ?2, 3, 0, ?2) "
                        "ON CONFLICT (key) DO NOTHING RETURNING id");
  auto claim = prepare("UPDATE jobs SET state = 1, attempts = attempts + 1, owner = 'm' "
                       "WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_due "
                       "WHERE state = 0 AND run_at <= ?1 "
                       "AND task IN (SELECT task FROM temp.tasks) "
                       "ORDER BY priority DESC, run_at, id LIMIT ?2) "
                       "RETURNING id, task, args, attempts, max_attempts, timeout_ms, "
                       "priority, run_at");
  auto finish = prepare("UPDATE jobs SET state = 2, result = ?1, owner = NULL, error = NULL, "
                        "finished_at = ?4 WHERE id = ?2 AND state = 1 AND attempts = ?3");
  const char args[5] = {0, 0, 0, 0, 7};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i += insert_batch) {
    run("BEGIN IMMEDIATE");
    for (int k = 0; k < insert_batch; ++k) {
      sqlite3_bind_blob(insert, 1, args, sizeof args, SQLITE_STATIC);
      sqlite3_bind_int64(insert, 2, i + k);
      done(insert);
    }
    run("COMMIT");
  }
  std::vector<std::pair<sqlite3_int64, int>> taken;
  for (int finished = 0; finished < n;) {
    run("BEGIN IMMEDIATE");
    for (auto [id, attempt] : taken) {
      sqlite3_bind_blob(finish, 1, args, sizeof args, SQLITE_STATIC);
      sqlite3_bind_int64(finish, 2, id);
      sqlite3_bind_int(finish, 3, attempt);
      sqlite3_bind_int64(finish, 4, n);
      done(finish);
    }
    finished += static_cast<int>(taken.size());
    taken.clear();
    sqlite3_bind_int64(claim, 1, n);
    sqlite3_bind_int(claim, 2, in_flight);
    while (sqlite3_step(claim) == SQLITE_ROW)
      taken.emplace_back(sqlite3_column_int64(claim, 0), sqlite3_column_int(claim, 3));
    sqlite3_reset(claim);
    run("COMMIT");
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("anchor.sqlite.txn_per_s %.1f jobs/s\n", n / seconds);
  sqlite3_finalize(insert);
  sqlite3_finalize(claim);
  sqlite3_finalize(finish);
  sqlite3_close(db);
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path.string() + suffix);
}
