// The records of the pool's task and result batches: what goes in comes out,
// and a batch that does not decode is refused, never over-allocated.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "runtime/pool/pool_protocol.hpp"

using namespace proctor::internal;

TEST(pool_wire, tasks_and_results_come_out_as_they_went_in) {
  std::vector<char> tasks;
  append_task(tasks, 7, "square", 2, 0, 0, std::string("\x01\x02\x03\x04", 4));
  append_task(tasks, 8, "add", 1, 1, 2, "");
  batch_reader tr{tasks};
  task_record t;
  ASSERT_TRUE(tr.next(t));
  EXPECT_EQ(t.id, 7u);
  EXPECT_EQ(t.name, "square");
  EXPECT_EQ(t.count, 2u);
  EXPECT_EQ(t.args, std::string("\x01\x02\x03\x04", 4));
  ASSERT_TRUE(tr.next(t));
  EXPECT_EQ(t.id, 8u);
  EXPECT_EQ(t.segment_base, 1u);
  EXPECT_EQ(t.segment_count, 2u);
  EXPECT_TRUE(t.args.empty());
  EXPECT_FALSE(tr.next(t));
  EXPECT_FALSE(tr.malformed());

  std::vector<char> results;
  append_result(results, {1, 0, 12, 3, 1, {'a', 'b'}, {}, {}});
  append_result(results, {2, 48, 3, 0, 0, {}, "std::runtime_error", "boom"});
  batch_reader rr{results};
  result_record r;
  ASSERT_TRUE(rr.next(r));
  EXPECT_EQ(r.id, 1u);
  EXPECT_EQ(r.run_us, 12u);
  EXPECT_EQ(r.segment_base, 3u);
  EXPECT_EQ(r.segment_count, 1u);
  EXPECT_EQ(r.bytes, (std::vector<char>{'a', 'b'}));
  ASSERT_TRUE(rr.next(r));
  EXPECT_EQ(r.code, 48);
  EXPECT_EQ(r.type, "std::runtime_error");
  EXPECT_EQ(r.what, "boom");
  EXPECT_FALSE(rr.next(r));
  EXPECT_FALSE(rr.malformed());
}

TEST(pool_wire, a_truncated_batch_is_malformed) {
  std::vector<char> tasks;
  append_task(tasks, 7, "square", 1, 0, 0, "abcd");
  tasks.pop_back();
  batch_reader reader{tasks};
  task_record t;
  EXPECT_FALSE(reader.next(t));
  EXPECT_TRUE(reader.malformed());
}

TEST(pool_wire, a_length_beyond_the_batch_is_refused_before_allocating) {
  std::vector<char> results;
  append_result(results, {1, 0, 0, 0, 0, {'x'}, {}, {}});
  // The blob's length is the uint32 after id (8), code (1), run_us (4) and
  // the segment range (4 + 4): claim 4 GiB - 1 of result bytes in a batch
  // of a few.
  for (std::size_t i = 21; i < 25; ++i)
    results[i] = static_cast<char>(0xff);
  batch_reader reader{results};
  result_record r;
  EXPECT_FALSE(reader.next(r));
  EXPECT_TRUE(reader.malformed());
  EXPECT_TRUE(r.bytes.empty());
}
