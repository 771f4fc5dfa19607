// The SQLite job store: what it commits is there after a reopen, a result
// is recorded once, a given-up attempt cannot finish, failures retry then
// go dead, and a master's death puts its running jobs back.
#include "runtime/jobs/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <sqlite3.h>

#include "proctor/errc.hpp"

using namespace proctor::internal;

namespace {

/// A store file of this test's own, removed with its scope.
struct store_file {
  std::string path = std::filesystem::temp_directory_path()
                     / ("proctor-jobs-" + std::to_string(::getpid()) + "-"
                        + ::testing::UnitTest::GetInstance()->current_test_info()->name()
                        + ".db");
  ~store_file() {
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path + suffix);
  }
};

job_spec job(std::string task, std::string key = {}, std::uint32_t attempts = 1) {
  job_spec j;
  j.task = std::move(task);
  j.args = {'a', 'b'};
  j.key = std::move(key);
  j.max_attempts = attempts;
  return j;
}

} // namespace

TEST(sqlite_store, jobs_committed_are_there_after_a_reopen) {
  store_file file;
  std::vector<std::uint64_t> ids;
  {
    sqlite_store s{file.path};
    std::vector<job_spec> jobs{job("one"), job("two")};
    ids = s.enqueue(jobs);
    ASSERT_EQ(ids.size(), 2u);
  }
  sqlite_store again{file.path};
  auto r = again.get(ids[1]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->task, "two");
  EXPECT_EQ(r->state, job_state::queued);
  EXPECT_EQ(again.counts().queued, 2u);
}

TEST(sqlite_store, a_key_names_one_job) {
  store_file file;
  sqlite_store s{file.path};
  std::vector<job_spec> first{job("copy", "file-1")};
  std::vector<job_spec> second{job("copy", "file-1"), job("copy", "file-2")};
  auto a = s.enqueue(first);
  auto b = s.enqueue(second);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_NE(b[0], b[1]);
  EXPECT_EQ(s.counts().queued, 2u);
}

TEST(sqlite_store, a_result_is_recorded_once_and_only_by_the_running_attempt) {
  store_file file;
  sqlite_store s{file.path};
  std::vector<job_spec> jobs{job("f", {}, 3)};
  auto id = s.enqueue(jobs)[0];
  auto taken = s.claim("master-1", 10, 0);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].attempt, 1u);
  std::vector<char> result{'4', '2'};
  EXPECT_FALSE(s.finish(id, 2, result, 5)); // an attempt that is not running
  EXPECT_TRUE(s.finish(id, 1, result, 5));
  EXPECT_FALSE(s.finish(id, 1, result, 5)); // done already
  EXPECT_EQ(s.get(id)->result, result);
  EXPECT_TRUE(s.claim("master-1", 10, 0).empty());
}

TEST(sqlite_store, failures_retry_at_their_time_then_go_dead_and_can_be_requeued) {
  store_file file;
  sqlite_store s{file.path};
  std::vector<job_spec> jobs{job("f", {}, 2)};
  auto id = s.enqueue(jobs)[0];
  ASSERT_EQ(s.claim("m", 1, 0).size(), 1u);
  EXPECT_TRUE(s.fail(id, 1, "boom", 1000, false, 5));
  EXPECT_TRUE(s.claim("m", 1, 999).empty()); // not due yet
  auto again = s.claim("m", 1, 1000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2u);
  EXPECT_TRUE(s.fail(id, 2, "boom again", 2000, false, 5));
  auto dead = s.get(id);
  EXPECT_EQ(dead->state, job_state::dead);
  EXPECT_EQ(dead->error, "boom again");
  EXPECT_EQ(s.counts().dead, 1u);
  EXPECT_TRUE(s.requeue(id, 2000));
  EXPECT_FALSE(s.requeue(id, 2000)); // not dead any more
  EXPECT_EQ(s.claim("m", 1, 2000).size(), 1u);
}

TEST(sqlite_store, a_dead_masters_running_jobs_are_queued_again) {
  store_file file;
  std::vector<std::uint64_t> ids;
  {
    sqlite_store s{file.path};
    std::vector<job_spec> jobs{job("a", {}, 2), job("b", {}, 1), job("c", {}, 2)};
    ids = s.enqueue(jobs);
    EXPECT_EQ(s.claim("master-1", 2, 0).size(), 2u);
  }
  sqlite_store s{file.path};
  EXPECT_EQ(s.running_owners(), std::vector<std::string>{"master-1"});
  EXPECT_EQ(s.release("master-1", 5), 2u);
  // "a" runs again; "b" had its last attempt and is dead; "c" never ran.
  EXPECT_EQ(s.get(ids[0])->state, job_state::queued);
  EXPECT_EQ(s.get(ids[1])->state, job_state::dead);
  EXPECT_EQ(s.counts().queued, 2u);
  auto taken = s.claim("master-2", 10, 0);
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(s.release("master-1", 5), 0u); // the other's jobs stay
  EXPECT_EQ(s.get(ids[1])->error, "its master ended while it ran");
}

TEST(sqlite_store, a_file_that_is_not_a_store_is_refused_clearly) {
  store_file file;
  {
    std::ofstream out{file.path};
    out << "this is not a database, just text that is long enough to be read as a header";
  }
  try {
    sqlite_store s{file.path};
    ADD_FAILURE() << "opened";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::store_failed);
    EXPECT_NE(std::string{e.what()}.find("not a database"), std::string::npos) << e.what();
  }
}

TEST(sqlite_store, claims_take_only_known_tasks_by_priority_and_give_back_uncounted) {
  store_file file;
  sqlite_store s{file.path};
  auto low = job("known");
  auto high = job("known");
  high.priority = 5;
  std::vector<job_spec> jobs{low, high, job("unknown")};
  auto ids = s.enqueue(jobs);
  s.set_tasks({"known"});
  EXPECT_EQ(s.next_due(), 0);
  auto first = s.claim("m", 1, 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, ids[1]); // the higher priority
  EXPECT_EQ(s.claim("m", 10, 0).size(), 1u);
  EXPECT_TRUE(s.claim("m", 10, 0).empty()); // "unknown" is not ours
  EXPECT_FALSE(s.next_due());
  EXPECT_TRUE(s.give_back(ids[1], 1));
  EXPECT_FALSE(s.give_back(ids[1], 1)); // not running any more
  auto again = s.claim("m", 10, 0);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 1u); // the given-back attempt did not count
}

TEST(sqlite_store, a_transaction_commits_all_or_nothing) {
  store_file file;
  sqlite_store s{file.path};
  std::vector<job_spec> jobs{job("a")};
  EXPECT_THROW(s.transact([&] {
    s.enqueue(jobs);
    throw std::runtime_error{"no"};
  }),
               std::runtime_error);
  EXPECT_EQ(s.counts().queued, 0u);
  s.transact([&] {
    s.enqueue(jobs);
    s.enqueue(jobs);
  });
  EXPECT_EQ(s.counts().queued, 2u);
}

TEST(sqlite_store, done_jobs_expire_and_dead_ones_only_when_asked) {
  store_file file;
  sqlite_store s{file.path};
  std::vector<job_spec> jobs{job("a"), job("b")};
  auto ids = s.enqueue(jobs);
  s.claim("m", 2, 0);
  EXPECT_TRUE(s.finish(ids[0], 1, {}, 100));
  EXPECT_TRUE(s.fail(ids[1], 1, "no", 0, false, 100));
  EXPECT_EQ(s.get(ids[0])->result.size(), 0u);
  EXPECT_EQ(s.purge(100, true), 0u); // finished at 100, not before
  EXPECT_EQ(s.purge(101, false), 1u);
  EXPECT_EQ(s.list(job_state::dead, 0, 10).size(), 1u);
  EXPECT_EQ(s.purge(101, true), 1u);
  EXPECT_FALSE(s.get(ids[1]));
}

TEST(sqlite_store, values_out_of_range_in_the_file_are_refused_not_cast) {
  store_file file;
  {
    // A file made by something else: the table without its checks.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE proctor_jobs (id INTEGER PRIMARY KEY, key TEXT UNIQUE, "
                           "task TEXT, args BLOB, state INTEGER, priority INTEGER, run_at INTEGER, "
                           "attempts INTEGER, max_attempts INTEGER, timeout_ms INTEGER, owner TEXT, "
                           "result BLOB, error TEXT, created_at INTEGER, finished_at INTEGER);"
                           "INSERT INTO proctor_jobs VALUES (1, NULL, 't', x'', 7, 0, 0, 0, 1, 0, "
                           "NULL, NULL, NULL, 0, NULL);"
                           "INSERT INTO proctor_jobs VALUES (2, NULL, 't', x'', 0, 0, 0, "
                           "99999999999, 1, 0, NULL, NULL, NULL, 0, NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  sqlite_store s{file.path};
  auto code = [](auto f) {
    try {
      f();
    } catch (const proctor::error& e) {
      return e.code();
    }
    return proctor::errc{};
  };
  EXPECT_EQ(code([&] { s.get(1); }), proctor::errc::store_failed);
  EXPECT_EQ(code([&] { s.counts(); }), proctor::errc::store_failed);
  EXPECT_EQ(code([&] { s.get(2); }), proctor::errc::store_failed);
}

TEST(sqlite_store, a_claimed_batch_comes_in_the_order_to_run) {
  store_file file;
  sqlite_store s{file.path};
  std::vector<job_spec> jobs{job("low"), job("high"), job("mid"), job("early")};
  jobs[1].priority = 9;
  jobs[2].priority = 5;
  jobs[0].run_at_ms = 10;
  jobs[3].run_at_ms = 5; // same priority as "low", due first
  s.enqueue(jobs);
  auto taken = s.claim("m", 10, 100);
  ASSERT_EQ(taken.size(), 4u);
  EXPECT_EQ(taken[0].task, "high");
  EXPECT_EQ(taken[1].task, "mid");
  EXPECT_EQ(taken[2].task, "early");
  EXPECT_EQ(taken[3].task, "low");
}
