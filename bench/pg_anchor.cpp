// anchor.pg.txn_per_s: the writes of proctor.jobs.pg_per_s on a bare libpq
// connection, with nothing else: the same table, indexes and statements
// (text parameters, as the store sends them); jobs inserted 1000 per
// transaction with a NOTIFY, then, 128 at a time, one transaction records
// the results of the last 128 jobs claimed and claims the next (FOR UPDATE
// SKIP LOCKED), as a master with two workers and tiny jobs does at best
// (its 256 jobs in flight, committed half at a time). Prints jobs per
// second: one job is one insert, one claim and one finish. Needs
// PROCTOR_BENCH_PG (scripts/bench starts a throwaway server).
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "pg_scratch.hpp"

namespace {

PGconn* conn = nullptr;

PGresult* run(const char* sql, std::vector<std::string> text = {}, const char* blob = nullptr,
              int blob_size = 0) {
  // Parameter 1 is the blob when one is given; the rest are text.
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  if (blob != nullptr) {
    values.push_back(blob);
    lengths.push_back(blob_size);
    formats.push_back(1);
  }
  for (auto& t : text) {
    values.push_back(t.c_str());
    lengths.push_back(0);
    formats.push_back(0);
  }
  auto* r = values.empty() ? PQexec(conn, sql)
                           : PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr,
                                          values.data(), lengths.data(), formats.data(), 0);
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::fprintf(stderr, "pg_anchor: %s\n", PQresultErrorMessage(r));
    std::exit(1);
  }
  return r;
}

void done(PGresult* r) {
  PQclear(r);
}

} // namespace

int main() {
  if (!bench::pg_scratch::available()) {
    std::fprintf(stderr, "pg_anchor: PROCTOR_BENCH_PG names no server; skipped\n");
    return 0;
  }
  constexpr int n = 20000;
  constexpr int insert_batch = 1000;
  constexpr int in_flight = 128;
  bench::pg_scratch db{"anchor"};
  conn = PQconnectdb(db.conninfo().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "pg_anchor: %s\n", PQerrorMessage(conn));
    return 1;
  }
  done(run("CREATE TABLE proctor_jobs (id BIGSERIAL PRIMARY KEY, key TEXT UNIQUE, "
           "task TEXT NOT NULL, args BYTEA NOT NULL, "
           "state SMALLINT NOT NULL CHECK (state BETWEEN 0 AND 3), priority INTEGER NOT NULL, "
           "run_at BIGINT NOT NULL, "
           "attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND max_attempts), "
           "max_attempts BIGINT NOT NULL CHECK (max_attempts BETWEEN 1 AND 4294967295), "
           "timeout_ms BIGINT NOT NULL CHECK (timeout_ms >= 0), owner TEXT, result BYTEA, "
           "error TEXT, created_at BIGINT NOT NULL, finished_at BIGINT);"
           "CREATE INDEX proctor_jobs_due ON proctor_jobs (state, priority DESC, run_at, id);"
           "CREATE INDEX proctor_jobs_next ON proctor_jobs (state, run_at);"));
  const char args[5] = {0, 0, 0, 0, 7};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i += insert_batch) {
    done(run("BEGIN"));
    for (int k = 0; k < insert_batch; ++k) {
      auto at = std::to_string(i + k);
      done(run("INSERT INTO proctor_jobs (key, task, args, state, priority, run_at, "
               "max_attempts, timeout_ms, created_at) "
               "VALUES (NULL, 'bench_job', $1, 0, 0, $2, 3, 0, $2) "
               "ON CONFLICT (key) DO NOTHING RETURNING id",
               {at}, args, sizeof args));
    }
    done(run("NOTIFY proctor_jobs"));
    done(run("COMMIT"));
  }
  std::vector<std::pair<std::string, std::string>> taken; // id, attempt
  for (int finished = 0; finished < n;) {
    done(run("BEGIN"));
    for (auto& [id, attempt] : taken)
      done(run("UPDATE proctor_jobs SET state = 2, result = $1, owner = NULL, error = NULL, "
               "finished_at = $4 WHERE id = $2 AND state = 1 AND attempts = $3",
               {id, attempt, std::to_string(n)}, args, sizeof args));
    finished += static_cast<int>(taken.size());
    taken.clear();
    auto* claimed = run("UPDATE proctor_jobs SET state = 1, attempts = attempts + 1, owner = $1 "
                        "WHERE id IN (SELECT id FROM proctor_jobs WHERE state = 0 "
                        "AND run_at <= $2 AND task = ANY ($4::text[]) "
                        "ORDER BY priority DESC, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
                        "RETURNING id, task, args, attempts, max_attempts, timeout_ms, "
                        "priority, run_at",
                        {"m", std::to_string(n), std::to_string(in_flight), "{bench_job}"});
    for (int row = 0; row < PQntuples(claimed); ++row) {
      std::size_t size = 0;
      auto* raw = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(PQgetvalue(claimed, row, 2)), &size);
      PQfreemem(raw);
      taken.emplace_back(PQgetvalue(claimed, row, 0), PQgetvalue(claimed, row, 3));
    }
    done(claimed);
    done(run("COMMIT"));
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("anchor.pg.txn_per_s %.1f jobs/s\n", n / seconds);
  PQfinish(conn);
}
