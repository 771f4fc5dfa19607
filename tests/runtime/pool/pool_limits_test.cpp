// A pool near the transport's limits: large arguments and results travel in
// batches that stay under the frame limit, and what cannot fit in one frame
// fails clearly instead of vanishing.
#include "proctor/pool.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::pool;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 60s;

} // namespace

std::size_t length_of(std::string s) {
  return s.size();
}
PROCTOR_TASK(length_of);

std::string bytes_of(std::size_t n) {
  return std::string(n, 'x');
}
PROCTOR_TASK(bytes_of);

TEST(pool_limits, large_arguments_and_results_cross_in_several_batches) {
  pool p{test_runtime(), {.processes = 2}};
  // 8 tasks of 600 KB: more than one batch's worth each way.
  std::vector<std::string> big(8, std::string(600 << 10, 'y'));
  EXPECT_EQ(p.map(length_of, big, 1), std::vector<std::size_t>(8, 600 << 10));
  auto out = p.map(bytes_of, std::vector<std::size_t>(8, 600 << 10), 1);
  ASSERT_EQ(out.size(), 8u);
  for (auto& s : out)
    EXPECT_EQ(s, std::string(600 << 10, 'x'));
}

TEST(pool_limits, arguments_past_the_frame_limit_are_refused_at_the_call) {
  pool p{test_runtime(), {.processes = 1}};
  std::string huge(64u << 20, 'z');
  EXPECT_EQ(error_of([&] { p.apply_async(length_of, huge); }), proctor::errc::frame_too_large);
  // The pool is unaffected.
  EXPECT_EQ(p.apply(length_of, std::string("abc")), 3u);
}

TEST(pool_limits, a_result_past_the_frame_limit_fails_its_task_alone) {
  pool p{test_runtime(), {.processes = 1}};
  auto r = p.apply_async(bytes_of, std::size_t{64} << 20);
  EXPECT_EQ(error_of([&] { r.get(limit); }), proctor::errc::frame_too_large);
  EXPECT_EQ(p.apply(bytes_of, std::size_t{3}), "xxx");
}

TEST(pool_limits, under_a_small_frame_limit_nothing_waits_forever) {
  // A master of its own, with a 64 KiB frame limit: records of 40 KB fit a
  // frame alone, not together.
  proctor::testing::subprocess run{
    proctor::testing::helper_argv("small_frames", {"--proctor.max-frame-size=65536"})};
  ASSERT_EQ(run.wait(limit * 4), 0) << run.out() << run.err();
  auto lines = run.out_lines();
  std::vector<std::string> expected{
    "pool_arguments ok",           "pool_results ok",
    "pool_argument_too_large ok",  "pool_result_too_large ok",
    "queue_to_another_process ok", "queue_from_another_process ok",
    "queue_item_too_large ok",     "actor_request_too_large ok",
    "actor_message_too_large ok"};
  EXPECT_EQ(lines, expected) << run.err();
}
