// The durable jobs examples: the folder copy, killed halfway and run again,
// copies only what is left; proctor-jobs shows, retries and purges what a
// store holds, a SQLite file or a PostgreSQL database, and says clearly
// what it cannot do.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "runtime/jobs/postgres/pg_store.hpp"
#include "runtime/jobs/sqlite/sqlite_store.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::testing::eventually;
using proctor::testing::subprocess;

namespace {

std::string example(const std::string& name) {
  return std::string{PROCTOR_EXAMPLES_DIR} + "/" + name;
}

/// The N of the last "done N of M" line, or -1.
int last_done(const std::vector<std::string>& lines) {
  static const std::regex done{"done (\\d+) of \\d+"};
  int n = -1;
  std::smatch m;
  for (auto& line : lines)
    if (std::regex_match(line, m, done))
      n = std::stoi(m[1]);
  return n;
}

std::string contents(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

struct tool_run {
  std::optional<int> code;
  std::string out;
  std::string err;
};

tool_run tool(const std::vector<std::string>& args) {
  std::vector<std::string> argv{example("proctor-jobs")};
  argv.insert(argv.end(), args.begin(), args.end());
  subprocess p{argv};
  tool_run r;
  r.code = p.wait(60s);
  r.out = p.out();
  r.err = p.err();
  return r;
}

} // namespace

TEST(examples, jobs_folder_copy) {
  subprocess p{{example("jobs_folder_copy")}};
  ASSERT_EQ(p.wait(60s), 0) << p.err();
  EXPECT_TRUE(std::regex_search(p.out(), std::regex{"copied 10 of 10 files, 10 in this run\\n$"}))
    << p.out();
}

TEST(examples, jobs_folder_copy_killed_halfway_copies_only_the_rest) {
  auto dir = proctor::testing::make_temp_dir();
  auto source = dir + "/source";
  auto dest = dir + "/dest";
  std::filesystem::create_directories(source);
  constexpr int files = 40;
  for (int i = 0; i < files; ++i)
    std::ofstream{source + "/f" + std::to_string(i)} << std::string(100 + i, 'a' + i % 26);
  int done_at_kill = -1;
  {
    // 200 ms per file on six running at once: more than a second in all.
    subprocess first{{example("jobs_folder_copy"), source, dest, "200"}};
    ASSERT_TRUE(eventually([&] { return last_done(first.out_lines()) >= 6; }, 60s))
      << first.out() << first.err();
    auto workers = proctor::testing::children_of(first.pid());
    ASSERT_EQ(::kill(first.pid(), SIGKILL), 0);
    ASSERT_TRUE(first.wait(30s));
    for (auto pid : workers)
      ASSERT_TRUE(eventually([&] { return proctor::testing::process_gone(pid); }));
    done_at_kill = last_done(first.out_lines());
  }
  subprocess second{{example("jobs_folder_copy"), source, dest}};
  ASSERT_EQ(second.wait(60s), 0) << second.out() << second.err();
  std::smatch m;
  auto out = second.out();
  ASSERT_TRUE(std::regex_search(out, m, std::regex{"copied 40 of 40 files, (\\d+) in this run"}))
    << out;
  // The files done before the kill were not copied again.
  EXPECT_LE(std::stoi(m[1]), files - done_at_kill) << out;
  EXPECT_GE(last_done(second.out_lines()), files);
  for (int i = 0; i < files; ++i) {
    auto name = "/f" + std::to_string(i);
    EXPECT_EQ(contents(dest + name), contents(source + name)) << name;
  }
  std::filesystem::remove_all(dir);
}

namespace {

/// Three jobs of task "resize" in `s`: one done, one dead after its only
/// attempt (key photo-2), one queued.
template <class Store>
void seed(Store& s) {
  std::vector<proctor::internal::job_spec> specs(3);
  for (auto& spec : specs)
    spec.task = "resize";
  specs[1].key = "photo-2";
  auto ids = s.enqueue(specs);
  s.claim("a master", 2, 1000000);
  s.finish(ids[0], 1, {}, 1000);
  s.fail(ids[1], 1, "std::runtime_error: boom", 0, true, 1000);
}

/// Every command of the tool on a store that seed() filled.
void shows_retries_and_purges(const std::string& store) {
  auto counts = tool({store, "counts"});
  EXPECT_EQ(counts.code, 0) << counts.err;
  EXPECT_TRUE(std::regex_search(counts.out, std::regex{"queued 1\nrunning 0\ndone 1\ndead 1\n"}))
    << counts.out;

  auto dead = tool({store, "list", "dead"});
  EXPECT_EQ(dead.code, 0) << dead.err;
  EXPECT_TRUE(std::regex_search(dead.out, std::regex{"^2 +dead +resize +1/1 +photo-2 +std::runtime_error: boom\n$"}))
    << dead.out;
  auto show = tool({store, "show", "2"});
  EXPECT_TRUE(std::regex_search(show.out, std::regex{"state dead\n"})) << show.out;
  EXPECT_TRUE(std::regex_search(show.out, std::regex{"error std::runtime_error: boom\n"})) << show.out;

  auto retried = tool({store, "retry", "2", "1"});
  EXPECT_EQ(retried.code, 1); // 1 is done, not dead
  EXPECT_EQ(retried.out, "2 queued again\n1 is not dead\n");
  EXPECT_TRUE(std::regex_search(tool({store, "show", "2"}).out, std::regex{"state queued\n"}));

  auto purged = tool({store, "purge", "0"});
  EXPECT_EQ(purged.out, "purged 1\n");
  EXPECT_EQ(tool({store, "show", "1"}).code, 1); // gone

  // What it cannot do, it says.
  auto missing = tool({store, "show", "999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no job 999"), std::string::npos) << missing.err;
  EXPECT_EQ(tool({store, "list", "sideways"}).code, 2);
  EXPECT_EQ(tool({store, "show", "x"}).code, 2);
  EXPECT_EQ(tool({store}).code, 2);
}

} // namespace

TEST(examples, proctor_jobs_shows_retries_and_purges) {
  auto dir = proctor::testing::make_temp_dir();
  auto store = dir + "/jobs.db";
  {
    proctor::internal::sqlite_store s{store};
    seed(s);
  }
  shows_retries_and_purges(store);
  auto nowhere = tool({dir + "/nowhere.db", "counts"});
  EXPECT_EQ(nowhere.code, 3);
  EXPECT_FALSE(std::filesystem::exists(dir + "/nowhere.db"));
  {
    std::ofstream{dir + "/text.db"} << std::string(8192, 't');
  }
  auto corrupt = tool({dir + "/text.db", "counts"});
  EXPECT_EQ(corrupt.code, 3);
  EXPECT_NE(corrupt.err.find("not a database"), std::string::npos) << corrupt.err;
  std::filesystem::remove_all(dir);
}

TEST(examples, proctor_jobs_reads_a_postgresql_store_by_its_connection_string) {
  proctor::testing::pg_database db;
  {
    proctor::internal::pg_store s{db.conninfo()};
    seed(s);
  }
  shows_retries_and_purges(db.conninfo());
  // A server that is not there: the store refused, with libpq's word.
  auto nowhere = tool({"host=/nonexistent-proctor-dir dbname=jobs", "counts"});
  EXPECT_EQ(nowhere.code, 3);
  EXPECT_NE(nowhere.err.find("cannot connect"), std::string::npos) << nowhere.err;
}
