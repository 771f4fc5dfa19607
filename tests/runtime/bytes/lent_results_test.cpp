// Pool results in bytes are lent from the worker's recycled memory: the
// master reads them in place, the worker writes a slot again only once the
// master let go of it, and a result passed on is copied first.
#include "proctor/bytes.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "proctor/pool.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/bytes_patterns.hpp"
#include "tests/support/descriptors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using proctor::bytes;
using proctor::testing::describe;
using proctor::testing::eventually;
using proctor::testing::mappings_naming;
using proctor::testing::pattern;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = std::chrono::seconds{30};
constexpr std::size_t result_size = 300000;

std::size_t lent_mappings() {
  return mappings_naming("memfd:proctor-lent");
}

/// Mappings of lent memory in process `pid`, read from here: asking the
/// process itself would keep it busy, and a busy process does not trim.
std::size_t lent_mappings_of(int pid) {
  std::ifstream maps{"/proc/" + std::to_string(pid) + "/maps"};
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find("memfd:proctor-lent") != std::string::npos)
      ++n;
  return n;
}

} // namespace

bytes lent_pattern(int seed) {
  return pattern(result_size, seed);
}
PROCTOR_TASK(lent_pattern);

std::string lent_describe(bytes b) {
  return describe(b);
}
PROCTOR_TASK(lent_describe);

// Puts what it made into a queue and returns it too: sealed for good first.
bytes lent_put_and_return(proctor::queue<bytes> q, int seed) {
  auto b = pattern(result_size, seed);
  q.put(b);
  return b;
}
PROCTOR_TASK(lent_put_and_return);

int lent_pid() {
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(lent_pid);

void lent_forward(proctor::queue<bytes> q, bytes b) {
  q.put(b);
}
PROCTOR_TASK(lent_forward);

TEST(lent_results, a_result_held_is_never_written_again_while_others_come) {
  auto& rt = test_runtime();
  auto before = lent_mappings();
  {
    proctor::pool p{rt, {.processes = 1}};
    std::vector<bytes> held;
    for (int i = 0; i < 5; ++i)
      held.push_back(p.apply(lent_pattern, i));
    // Many more results, dropped at once: their slots are written again.
    for (int i = 5; i < 60; ++i) {
      auto r = p.apply(lent_pattern, i);
      ASSERT_TRUE(r.shared());
      ASSERT_TRUE(r == pattern(result_size, i)) << i;
    }
    for (int i = 0; i < 5; ++i)
      EXPECT_TRUE(held[i] == pattern(result_size, i)) << i;
    EXPECT_GT(lent_mappings(), before);
  }
  // The pool's worker ended: nothing of its memory stays mapped here.
  // Another test's pool may still be letting go here: at most as before.
  EXPECT_TRUE(eventually([&] { return lent_mappings() <= before; })) << lent_mappings();
}

TEST(lent_results, a_result_passed_on_arrives_whole) {
  auto& rt = test_runtime();
  proctor::pool p{rt, {.processes = 2}};
  auto r = p.apply(lent_pattern, 7);
  auto expected = describe(pattern(result_size, 7));
  // As another task's argument, and as a queue item put by a worker.
  EXPECT_EQ(p.apply(lent_describe, r), expected);
  proctor::queue<bytes> q{rt};
  p.apply(lent_forward, q, p.apply(lent_pattern, 8));
  EXPECT_EQ(describe(q.get(limit)), describe(pattern(result_size, 8)));
  r = {};
  // Made in the worker, put into a queue and returned: whole both ways.
  auto both = p.apply(lent_put_and_return, q, 9);
  EXPECT_TRUE(both == pattern(result_size, 9));
  EXPECT_TRUE(both.shared());
  EXPECT_EQ(describe(q.get(limit)), describe(pattern(result_size, 9)));
}

TEST(lent_results, results_stay_readable_when_their_worker_is_killed) {
  auto& rt = test_runtime();
  proctor::pool p{rt, {.processes = 1}};
  std::vector<bytes> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(p.apply(lent_pattern, 20 + i));
  ::kill(p.apply(lent_pid), SIGKILL);
  // The pool goes on with a new worker; what was lent stays as it was.
  EXPECT_TRUE(p.apply(lent_pattern, 30) == pattern(result_size, 30));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(held[i] == pattern(result_size, 20 + i)) << i;
}

TEST(lent_results, a_quiet_pool_lets_the_memory_go_on_both_sides) {
  auto& rt = test_runtime();
  auto before = lent_mappings();
  proctor::pool p{rt, {.processes = 1}};
  auto worker = p.apply(lent_pid);
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(p.apply(lent_pattern, i) == pattern(result_size, i)) << i;
  // Every result dropped; after a quiet spell the worker frees its slots
  // and this process unmaps what it kept of them.
  EXPECT_TRUE(eventually([&] { return lent_mappings() <= before; })) << lent_mappings();
  EXPECT_TRUE(eventually([&] { return lent_mappings_of(worker) == 0; }))
    << lent_mappings_of(worker);
}

TEST(lent_results, values_larger_than_a_peer_maps_travel_inline_whole) {
  // A master of its own, taking shared memory of 256 KiB at most.
  proctor::testing::subprocess run{
    proctor::testing::helper_argv("small_shared", {"--proctor.max-shared-size=262144"})};
  ASSERT_EQ(run.wait(limit * 4), 0) << run.out() << run.err();
  std::vector<std::string> expected{"pool_result ok", "pool_argument ok", "queue_item ok",
                                    "small_ones_still_shared ok"};
  EXPECT_EQ(run.out_lines(), expected) << run.err();
}
