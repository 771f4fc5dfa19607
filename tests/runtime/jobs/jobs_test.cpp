// Durable jobs in one process: a job's result is found by id from any
// jobs object on the store, failures retry and then go dead where they can
// be retried, keys, delays, priorities and timeouts hold, and every bad
// input (a missing or corrupt store, an unknown id, an unregistered task)
// is a clear error.
#include "proctor/jobs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <memory>
#include <optional>
#include <vector>

#include "runtime/jobs/postgres/pg_store.hpp"
#include "runtime/jobs/sqlite/sqlite_store.hpp"
#include "tests/runtime/jobs/jobs_tasks.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace proctor::testing;
using namespace std::chrono_literals;
using proctor::job_options;
using proctor::job_state;
using proctor::jobs;
using proctor::jobs_options;

namespace {

constexpr auto limit = std::chrono::milliseconds{30s};

/// A directory of the test's own holding its store and its log.
struct jobs_dir {
  std::string path = make_temp_dir();
  std::string store = path + "/jobs.db";
  std::string log = path + "/log";

  ~jobs_dir() {
    std::filesystem::remove_all(path);
  }

  std::vector<std::string> lines() const {
    std::ifstream in{log};
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }
};

/// Each test runs on both stores: a SQLite file, a PostgreSQL database.
class durable_jobs : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      db.emplace();
      store = db->conninfo();
    } else {
      store = dir.store;
    }
  }

  jobs_options runner_options(std::size_t concurrency = 0) const {
    jobs_options o;
    o.store = store;
    o.pool.processes = 1;
    o.concurrency = concurrency;
    o.backoff = 1ms;
    return o;
  }

  jobs_options client_options() const {
    jobs_options o;
    o.store = store;
    o.run = false;
    return o;
  }

  /// The store itself, beside the jobs.
  std::unique_ptr<proctor::internal::job_store> open_store() const {
    if (db)
      return std::make_unique<proctor::internal::pg_store>(store);
    return std::make_unique<proctor::internal::sqlite_store>(store);
  }

  jobs_dir dir;
  std::optional<pg_database> db;
  std::string store;
};

INSTANTIATE_TEST_SUITE_P(stores, durable_jobs, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

template <class F>
proctor::errc code_of(F f) {
  try {
    f();
  } catch (const proctor::error& e) {
    return e.code();
  }
  return proctor::errc{};
}

} // namespace

TEST_P(durable_jobs, a_result_is_found_by_id_from_any_jobs_on_the_store) {
  std::uint64_t id = 0;
  {
    jobs j{test_runtime(), runner_options()};
    id = j.submit(jt_square, 7);
    EXPECT_EQ(j.result<int>(id, limit), 49);
    auto s = j.status(id);
    EXPECT_EQ(s.state, job_state::done);
    EXPECT_EQ(s.attempts, 1u);
    EXPECT_EQ(s.task, "jt_square");
  }
  // Another jobs object, which runs nothing, after the first one ended.
  jobs client{test_runtime(), client_options()};
  EXPECT_EQ(client.result<int>(id, limit), 49);
  EXPECT_EQ(client.counts().done, 1u);
}

TEST_P(durable_jobs, a_job_submitted_by_a_client_is_run_by_a_runner) {
  jobs client{test_runtime(), client_options()};
  jobs runner{test_runtime(), runner_options()};
  auto ids = client.submit_each(jt_square, std::vector<int>{1, 2, 3});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(client.result<int>(ids[2], limit), 9);
  EXPECT_TRUE(client.wait_idle(limit));
  EXPECT_EQ(client.counts().done, 3u);
}

TEST_P(durable_jobs, failures_retry_then_go_dead_with_their_error_and_can_be_retried) {
  jobs j{test_runtime(), runner_options()};
  job_options twice;
  twice.max_attempts = 2;
  auto id = j.submit(twice, jt_always_fails, dir.log, 1);
  try {
    j.result<int>(id, limit);
    ADD_FAILURE() << "a result";
  } catch (const proctor::job_dead& e) {
    EXPECT_EQ(e.id(), id);
    EXPECT_NE(std::string{e.what()}.find("always fails"), std::string::npos) << e.what();
  }
  auto s = j.status(id);
  EXPECT_EQ(s.state, job_state::dead);
  EXPECT_EQ(s.attempts, 2u);
  EXPECT_NE(s.error.find("always fails"), std::string::npos) << s.error;
  EXPECT_EQ(j.list(job_state::dead).size(), 1u);
  EXPECT_EQ(j.counts().dead, 1u);
  EXPECT_EQ(dir.lines().size(), 2u);

  EXPECT_TRUE(j.retry(id));
  EXPECT_FALSE(j.retry(j.submit(jt_square, 2))); // not dead
  EXPECT_EQ(code_of([&] { j.result<int>(id, limit); }), proctor::errc::job_dead);
  EXPECT_EQ(dir.lines().size(), 4u); // both attempts again
}

TEST_P(durable_jobs, a_flaky_job_succeeds_on_a_later_attempt) {
  jobs j{test_runtime(), runner_options()};
  auto id = j.submit(jt_flaky, dir.path + "/marker", 3);
  EXPECT_EQ(j.result<int>(id, limit), 3);
  EXPECT_EQ(j.status(id).attempts, 3u);
  EXPECT_TRUE(j.status(id).error.empty());
}

TEST_P(durable_jobs, a_key_makes_a_second_submit_the_same_job) {
  jobs j{test_runtime(), runner_options()};
  job_options keyed;
  keyed.key = "note-a";
  auto first = j.submit(keyed, jt_note, dir.log, std::string{"a"});
  j.result<void>(first, limit);
  auto second = j.submit(keyed, jt_note, dir.log, std::string{"a"});
  EXPECT_EQ(first, second);
  EXPECT_TRUE(j.wait_idle(limit));
  EXPECT_EQ(dir.lines(), std::vector<std::string>{"a"});
  EXPECT_EQ(j.status(first).key, "note-a");
}

TEST_P(durable_jobs, a_job_due_later_waits) {
  jobs j{test_runtime(), runner_options()};
  job_options later;
  later.run_at = std::chrono::system_clock::now() + std::chrono::hours{1};
  auto id = j.submit(later, jt_note, dir.log, std::string{"later"});
  auto now = j.submit(jt_note, dir.log, std::string{"now"});
  j.result<void>(now, limit);
  EXPECT_EQ(j.status(id).state, job_state::queued);
  EXPECT_EQ(code_of([&] { j.result<void>(id, 50ms); }), proctor::errc::timeout);
  EXPECT_EQ(dir.lines(), std::vector<std::string>{"now"});
}

TEST_P(durable_jobs, higher_priority_runs_first) {
  {
    jobs client{test_runtime(), client_options()};
    job_options low, high;
    high.priority = 10;
    client.submit(low, jt_note, dir.log, std::string{"low"});
    client.submit(high, jt_note, dir.log, std::string{"high"});
  }
  jobs j{test_runtime(), runner_options(1)}; // one at a time
  EXPECT_TRUE(j.wait_idle(limit));
  EXPECT_EQ(dir.lines(), (std::vector<std::string>{"high", "low"}));
}

TEST_P(durable_jobs, an_attempt_past_its_timeout_fails) {
  jobs j{test_runtime(), runner_options()};
  job_options quick;
  quick.timeout = 200ms;
  quick.max_attempts = 1;
  auto id = j.submit(quick, jt_sleep, dir.log, 60000);
  EXPECT_EQ(code_of([&] { j.result<void>(id, limit); }), proctor::errc::job_dead);
  EXPECT_NE(j.status(id).error.find("task_timed_out"), std::string::npos) << j.status(id).error;
  // The pool goes on.
  EXPECT_EQ(j.result<int>(j.submit(jt_square, 3), limit), 9);
}

TEST_P(durable_jobs, a_result_in_shared_memory_is_stored_whole) {
  jobs j{test_runtime(), runner_options()};
  constexpr std::size_t size = 1 << 20;
  auto r = j.result<proctor::bytes>(j.submit(jt_made, size), limit);
  ASSERT_EQ(r.size(), size);
  EXPECT_EQ(std::count(r.view().begin(), r.view().end(), 'j'),
            static_cast<std::ptrdiff_t>(size));
}

TEST_P(durable_jobs, stopping_gives_running_jobs_back_unrun) {
  std::uint64_t id = 0;
  {
    jobs j{test_runtime(), runner_options()};
    job_options once;
    once.max_attempts = 1;
    id = j.submit(once, jt_sleep, dir.log, 60000);
    ASSERT_TRUE(eventually([&] { return j.status(id).state == job_state::running; }));
  }
  jobs client{test_runtime(), client_options()};
  auto s = client.status(id);
  EXPECT_EQ(s.state, job_state::queued);
  EXPECT_EQ(s.attempts, 0u);
}

TEST_P(durable_jobs, a_task_this_program_lacks_stays_queued) {
  {
    std::vector<proctor::internal::job_spec> other(1);
    other[0].task = "a_task_of_another_program";
    open_store()->enqueue(other);
  }
  jobs j{test_runtime(), runner_options()};
  j.result<int>(j.submit(jt_square, 2), limit);
  auto queued = j.list(job_state::queued);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].task, "a_task_of_another_program");
}

TEST_P(durable_jobs, bad_input_is_a_clear_error) {
  jobs j{test_runtime(), runner_options()};
  EXPECT_EQ(code_of([&] { j.status(123456); }), proctor::errc::no_such_job);
  EXPECT_EQ(code_of([&] { j.result<int>(123456, limit); }), proctor::errc::no_such_job);
  EXPECT_EQ(code_of([&] { j.submit(jt_unregistered, 1); }), proctor::errc::unregistered_task);
  // The wrong type for a result.
  auto id = j.submit(jt_square, 4);
  EXPECT_EQ(code_of([&] { j.result<std::string>(id, limit); }),
            proctor::errc::malformed_payload);
  EXPECT_EQ(j.result<int>(id, limit), 16);
}

TEST(durable_jobs_sqlite, a_missing_directory_or_a_corrupt_file_is_refused_clearly) {
  jobs_dir dir;
  jobs_options o;
  o.run = false;
  o.store = dir.path + "/no/such/dir/jobs.db";
  EXPECT_EQ(code_of([&] { jobs j{test_runtime(), o}; }), proctor::errc::store_failed);
  o.store = dir.path + "/corrupt.db";
  {
    std::ofstream out{o.store};
    out << std::string(8192, 'z');
  }
  try {
    jobs j{test_runtime(), o};
    ADD_FAILURE() << "opened";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::store_failed);
    EXPECT_NE(std::string{e.what()}.find("not a database"), std::string::npos) << e.what();
  }
  o.store.clear();
  EXPECT_EQ(code_of([&] { jobs j{test_runtime(), o}; }), proctor::errc::bad_argument);
}

TEST(durable_jobs_postgres, a_server_that_cannot_be_reached_is_a_clear_error) {
  jobs_options o;
  o.store = "host=/nonexistent-proctor-socket-dir dbname=none connect_timeout=2";
  o.run = false;
  try {
    jobs j{test_runtime(), o};
    ADD_FAILURE() << "connected";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::store_failed);
    EXPECT_NE(std::string{e.what()}.find("cannot connect"), std::string::npos) << e.what();
  }
}
