// Durable jobs figures for scripts/bench, on a SQLite store in a fresh
// temporary directory, and on a fresh PostgreSQL database when
// PROCTOR_BENCH_PG names a server:
//   proctor.jobs.sqlite_per_s    tiny jobs submitted (in batches of 1000,
//   proctor.jobs.pg_per_s        one transaction each), run and their
//                                results recorded, end to end
//   proctor.jobs.latency_ms      submit() to the task's start on an idle
//   proctor.jobs.pg_latency_ms   queue (the median of 50)
// Compare with anchor.sqlite.txn_per_s (bench/sqlite_anchor.cpp) and
// anchor.pg.txn_per_s (bench/pg_anchor.cpp): the same writes on a bare
// connection.
#include "bench_support.hpp"
#include "pg_scratch.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

int bench_job(int x) {
  return x;
}
PROCTOR_TASK(bench_job);

/// When the job started, in steady_clock nanoseconds (one clock for every
/// process of the host).
std::int64_t bench_started(int) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           bench::clock_type::now().time_since_epoch())
    .count();
}
PROCTOR_TASK(bench_started);

std::string fresh_store(const char* name) {
  auto dir = std::filesystem::temp_directory_path()
             / ("proctor-jobs-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

double jobs_per_s(proctor::runtime& rt, const std::string& store, int n) {
  proctor::jobs j{rt, {.store = store, .pool = {.processes = 2}}};
  j.result<int>(j.submit(bench_job, 0), 60s); // the workers are up
  std::vector<int> batch(1000);
  std::iota(batch.begin(), batch.end(), 0);
  auto t = bench::clock_type::now();
  for (int sent = 0; sent < n; sent += static_cast<int>(batch.size()))
    j.submit_each(bench_job, batch);
  if (!j.wait_idle(10min))
    throw std::runtime_error{"the jobs did not finish"};
  return n / bench::seconds_since(t);
}

double latency_ms(proctor::runtime& rt, const std::string& store, int rounds) {
  proctor::jobs j{rt, {.store = store, .pool = {.processes = 1}}};
  j.result<std::int64_t>(j.submit(bench_started, 0), 60s);
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    std::this_thread::sleep_for(20ms); // idle: the store thread sleeps
    auto before = bench::clock_type::now();
    auto id = j.submit(bench_started, i);
    auto started = bench::clock_type::time_point{
      std::chrono::nanoseconds{j.result<std::int64_t>(id, 60s)}};
    ms.push_back(std::chrono::duration<double, std::milli>(started - before).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  bench::print("jobs.sqlite_per_s", jobs_per_s(rt, fresh_store("throughput.db"), 20000),
               "jobs/s");
  bench::print("jobs.latency_ms", latency_ms(rt, fresh_store("latency.db"), 50), "ms");
  if (bench::pg_scratch::available()) {
    {
      bench::pg_scratch db{"throughput"};
      bench::print("jobs.pg_per_s", jobs_per_s(rt, db.conninfo(), 20000), "jobs/s");
    }
    bench::pg_scratch db{"latency"};
    bench::print("jobs.pg_latency_ms", latency_ms(rt, db.conninfo(), 50), "ms");
  }
  std::filesystem::remove_all(std::filesystem::temp_directory_path()
                              / ("proctor-jobs-bench-" + std::to_string(::getpid())));
}
