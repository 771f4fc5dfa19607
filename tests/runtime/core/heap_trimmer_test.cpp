// The heap is trimmed once a process moved enough and then stayed quiet.
#include "runtime/core/heap_trimmer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include <boost/asio/post.hpp>

#include "tests/support/eventually.hpp"
#include "transport/service_thread.hpp"

using proctor::internal::heap_trimmer;
using proctor::internal::service_thread;
using proctor::testing::eventually;

namespace {

std::atomic<int> trims{0};

void count_trim() {
  trims.fetch_add(1);
}

} // namespace

TEST(heap_trimmer, a_process_that_moved_enough_trims_once_quiet) {
  service_thread thread;
  auto trimmer = std::make_shared<heap_trimmer>(thread.context(), count_trim,
                                                std::chrono::milliseconds{1});
  trims = 0;
  // Below the threshold, moves add up.
  trimmer->idle(heap_trimmer::trim_after_bytes / 2);
  trimmer->idle(heap_trimmer::trim_after_bytes / 2);
  EXPECT_TRUE(eventually([] { return trims.load() == 1; }));
  // And count again from nothing after a trim.
  trimmer->idle(heap_trimmer::trim_after_bytes);
  EXPECT_TRUE(eventually([] { return trims.load() == 2; }));
}

TEST(heap_trimmer, work_that_ends_while_it_waits_trims_once_quiet_again) {
  service_thread thread;
  auto trimmer = std::make_shared<heap_trimmer>(thread.context(), count_trim,
                                                std::chrono::milliseconds{50});
  trims = 0;
  trimmer->idle(heap_trimmer::trim_after_bytes);
  // More work, done before the wait ends: the last idle() came while a
  // wait was armed, and the trim must still come.
  trimmer->busy();
  trimmer->idle(0);
  EXPECT_TRUE(eventually([] { return trims.load() == 1; }));
}

TEST(heap_trimmer, a_trimmer_dropped_while_it_waits_trims_nothing) {
  service_thread thread;
  trims = 0;
  {
    auto trimmer = std::make_shared<heap_trimmer>(thread.context(), count_trim,
                                                  std::chrono::hours{1});
    trimmer->idle(heap_trimmer::trim_after_bytes);
  }
  // The cancelled wait has run once a later post has.
  std::atomic<bool> ran{false};
  boost::asio::post(thread.context(), [&] { ran = true; });
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
  EXPECT_EQ(trims.load(), 0);
}
