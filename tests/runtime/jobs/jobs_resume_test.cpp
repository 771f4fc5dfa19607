// A master killed with SIGKILL in the middle of ten thousand durable jobs:
// started again on the same store it runs every job that was not done,
// records each result once, and runs none that was done before it died.
// A master still alive on the store takes over a dead one's jobs too.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proctor/jobs.hpp"
#include "tests/runtime/jobs/jobs_tasks.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace proctor::testing;
using namespace std::chrono_literals;
using proctor::job_state;
using proctor::jobs;
using proctor::jobs_options;

namespace {

constexpr auto limit = std::chrono::milliseconds{5min};

/// A log and a store: a SQLite file, or a PostgreSQL database.
struct master_dir {
  explicit master_dir(const std::string& kind) {
    if (kind == "postgres") {
      db.emplace();
      store = db->conninfo();
    }
  }

  std::string path = make_temp_dir();
  std::optional<pg_database> db;
  std::string store = path + "/jobs.db";
  std::string log = path + "/log";

  ~master_dir() {
    std::filesystem::remove_all(path);
  }

  std::vector<std::string> env() const {
    return {"PROCTOR_TEST_JOBS_LOG=" + log};
  }

  jobs_options client() const {
    jobs_options o;
    o.store = store;
    o.run = false;
    return o;
  }
};

/// Kills `master` and waits until it and its workers are gone, so that no
/// job of theirs is still running.
void kill_master(subprocess& master) {
  auto workers = children_of(master.pid());
  ASSERT_EQ(::kill(master.pid(), SIGKILL), 0);
  ASSERT_TRUE(master.wait(30s));
  for (auto pid : workers)
    ASSERT_TRUE(eventually([&] { return process_gone(pid); })) << pid;
}

/// The job number (its key "n/N") of every job in `state`.
std::set<int> numbers_in(jobs& j, job_state state) {
  std::set<int> out;
  std::uint64_t after = 0;
  while (true) {
    auto page = j.list(state, after, 1000);
    if (page.empty())
      return out;
    for (auto& info : page)
      out.insert(std::stoi(info.key.substr(2)));
    after = page.back().id;
  }
}

/// How often each number ran, after the line `from` of the log.
std::map<int, int> runs_after(const std::string& log, std::size_t from) {
  std::ifstream in{log};
  std::map<int, int> runs;
  std::size_t i = 0;
  for (std::string line; std::getline(in, line); ++i)
    if (i >= from && line != "--")
      ++runs[std::stoi(line)];
  return runs;
}

std::size_t lines_of(const std::string& log) {
  std::ifstream in{log};
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    ++n;
  return n;
}

/// Every job of the `n` done, with its own result, and nothing else left.
void expect_all_done(jobs& client, int n) {
  auto c = client.counts();
  EXPECT_EQ(c.done, static_cast<std::uint64_t>(n));
  EXPECT_EQ(c.queued + c.running + c.dead, 0u);
  std::uint64_t after = 0;
  int checked = 0;
  while (true) {
    auto page = client.list(job_state::done, after, 1000);
    if (page.empty())
      break;
    for (auto& info : page) {
      auto k = std::stoi(info.key.substr(2));
      EXPECT_EQ(client.result<int>(info.id, 30s), k * k) << k;
      ++checked;
    }
    after = page.back().id;
  }
  EXPECT_EQ(checked, n);
}

class durable_jobs_resume : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(stores, durable_jobs_resume, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

} // namespace

TEST_P(durable_jobs_resume, a_master_killed_halfway_is_started_again_and_finishes_the_rest) {
  constexpr int n = 10000;
  master_dir dir{GetParam()};
  jobs client{test_runtime(), dir.client()};
  {
    subprocess first{helper_argv("jobs_master", {dir.store, "submit", std::to_string(n)}),
                     dir.env()};
    ASSERT_TRUE(first.wait_for_lines(1, limit)) << first.err();
    ASSERT_TRUE(eventually([&] { return client.counts().done >= 1000; }, limit));
    kill_master(first);
  }
  auto done_before = numbers_in(client, job_state::done);
  ASSERT_LT(done_before.size(), static_cast<std::size_t>(n)) << "nothing left to resume";
  auto left = client.counts();
  EXPECT_GT(left.queued + left.running, 0u); // the dead master's running ones among them
  auto resumed_from = lines_of(dir.log);

  subprocess second{helper_argv("jobs_master", {dir.store, "run"}), dir.env()};
  ASSERT_EQ(second.wait(limit), 0) << second.err();
  expect_all_done(client, n);
  auto runs = runs_after(dir.log, resumed_from);
  for (auto k : done_before)
    EXPECT_EQ(runs.count(k), 0u) << k << " ran again after it was done";
  for (int k = 0; k < n; ++k)
    if (!done_before.contains(k))
      EXPECT_EQ(runs[k], 1) << k;
}

TEST_P(durable_jobs_resume, a_live_master_takes_over_a_dead_ones_jobs) {
  constexpr int n = 2000;
  master_dir dir{GetParam()};
  jobs client{test_runtime(), dir.client()};
  subprocess first{helper_argv("jobs_master", {dir.store, "submit", std::to_string(n)}),
                   dir.env()};
  ASSERT_TRUE(first.wait_for_lines(1, limit)) << first.err();
  ASSERT_TRUE(eventually([&] { return client.counts().done >= 100; }, limit));
  // A second master comes while the first one runs, then the first dies.
  // (Its workers log nothing: they were started before this test.)
  jobs_options o;
  o.store = dir.store;
  o.pool.processes = 1;
  jobs second{test_runtime(), o};
  kill_master(first);
  EXPECT_TRUE(second.wait_idle(limit));
  expect_all_done(client, n);
}

TEST(durable_jobs_postgres, two_masters_share_the_jobs_and_one_killed_loses_none) {
  constexpr int n = 4000;
  master_dir dir{"postgres"};
  jobs client{test_runtime(), dir.client()};
  subprocess first{helper_argv("jobs_master", {dir.store, "submit", std::to_string(n)}),
                   dir.env()};
  ASSERT_TRUE(first.wait_for_lines(1, limit)) << first.err();
  subprocess second{helper_argv("jobs_master", {dir.store, "run"}), dir.env()};
  ASSERT_TRUE(eventually([&] { return client.counts().done >= 500; }, limit));
  kill_master(first);
  ASSERT_EQ(second.wait(limit), 0) << second.err();
  expect_all_done(client, n);
  // Every job ran once, but for those the killed master was running (eight
  // in flight at most), which ran again.
  auto runs = runs_after(dir.log, 0);
  int again = 0;
  for (int k = 0; k < n; ++k) {
    EXPECT_GE(runs[k], 1) << k;
    again += runs[k] > 1 ? 1 : 0;
  }
  EXPECT_LE(again, 8);
}

TEST(durable_jobs_postgres, a_server_that_goes_away_and_comes_back_loses_nothing) {
  pg_server own; // stopped and started here, not the one the others share
  jobs_options o;
  o.store = own.conninfo();
  o.pool.processes = 1;
  o.backoff = 1ms;
  jobs j{test_runtime(), o};
  auto before = j.submit(jt_square, 2);
  EXPECT_EQ(j.result<int>(before, 30s), 4);
  ASSERT_TRUE(own.stop());
  try {
    j.submit(jt_square, 3);
    ADD_FAILURE() << "submitted with the server away";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::store_failed) << e.what();
  }
  ASSERT_TRUE(own.start());
  // The first call after the restart may still find the old connection.
  std::uint64_t after = 0;
  ASSERT_TRUE(eventually([&] {
    try {
      after = j.submit(jt_square, 5);
      return true;
    } catch (const proctor::error&) {
      return false;
    }
  }));
  EXPECT_EQ(j.result<int>(after, 60s), 25);
  EXPECT_EQ(j.result<int>(before, 30s), 4);
  EXPECT_EQ(j.counts().done, 2u);
}
