// What a pool keeps after its tasks are done: no timer per finished task.
#include "proctor/pool.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "runtime/pool/task_timer.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::internal::task_timer;

namespace {

int twice(int x) {
  return 2 * x;
}
PROCTOR_TASK(twice);

/// Waits until no task timer is armed; false if some still are after 30 s.
bool timers_drain() {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (task_timer::live() != 0) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

} // namespace

TEST(pool_resources, a_finished_task_leaves_no_timer_behind) {
  proctor::pool p{proctor::testing::test_runtime(),
                  {.processes = 2, .task_timeout = std::chrono::hours{1}}};
  std::vector<int> inputs(500);
  std::iota(inputs.begin(), inputs.end(), 0);
  auto out = p.map(twice, inputs, 1);
  ASSERT_EQ(out.size(), inputs.size());
  EXPECT_EQ(out.back(), 998);
  // Every task ran under an hour-long timeout; none of those timers waits on.
  EXPECT_TRUE(timers_drain()) << task_timer::live() << " timers still armed";
  // And the pool goes on.
  EXPECT_EQ(p.apply(twice, 21), 42);
}
