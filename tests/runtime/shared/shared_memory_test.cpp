// shared_memory, shared_value and shared_array across real processes: one
// memory for every holder, names kept by the master, and nothing left once
// every holder is gone, killed or not.
#include "proctor/shared_memory.hpp"

#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "proctor/sync.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "tests/support/descriptors.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::shared_memory;
using proctor::testing::error_of;
using proctor::testing::eventually;
using proctor::testing::fds_naming;
using proctor::testing::mappings_naming;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

std::byte byte_at(int seed, std::size_t i) {
  return static_cast<std::byte>((seed * 31 + i) & 0xff);
}

void fill(std::span<std::byte> memory, int seed) {
  for (std::size_t i = 0; i < memory.size(); ++i)
    memory[i] = byte_at(seed, i);
}

bool holds(std::span<const std::byte> memory, int seed) {
  for (std::size_t i = 0; i < memory.size(); ++i)
    if (memory[i] != byte_at(seed, i))
      return false;
  return true;
}

/// The master's descriptors and mappings of blocks.
std::size_t block_fds() {
  return fds_naming("memfd:proctor-shared");
}

std::size_t block_mappings() {
  return mappings_naming("proctor-shared");
}

std::size_t named_blocks() {
  return proctor::internal::impl_of(test_runtime()).named_blocks();
}

} // namespace

void fills_block(shared_memory block, int seed) {
  fill(block.buf(), seed);
}
PROCTOR_TASK(fills_block);

void fills_block_by_name(std::string name, int seed) {
  fill(shared_memory::attach(proctor::runtime::current(), name).buf(), seed);
}
PROCTOR_TASK(fills_block_by_name);

/// Tells the error code creating a block failed with (0: none).
void reports_create(proctor::queue<int> codes) {
  try {
    shared_memory::create(proctor::runtime::current(), 4096);
    codes.put(0);
  } catch (const proctor::error& e) {
    codes.put(static_cast<int>(e.code()));
  }
}
PROCTOR_TASK(reports_create);

/// Tells the error code attaching `name` failed with (0: none).
void reports_attach(std::string name, proctor::queue<int> codes) {
  try {
    shared_memory::attach(proctor::runtime::current(), name).buf();
    codes.put(0);
  } catch (const proctor::error& e) {
    codes.put(static_cast<int>(e.code()));
  }
}
PROCTOR_TASK(reports_attach);

/// Starts a process of its own that reports what creating a block does
/// there: a worker's worker has no root to ask.
void starts_a_grandchild(proctor::queue<int> codes) {
  proctor::process grandchild{proctor::runtime::current(), reports_create, codes};
  grandchild.start();
  grandchild.join(limit);
}
PROCTOR_TASK(starts_a_grandchild);

/// Creates or attaches `name`, fills it, tells, and holds it until killed.
void holds_block(std::string name, bool create, int seed, proctor::event ready) {
  auto& rt = proctor::runtime::current();
  auto block = create ? shared_memory::create(rt, name, 1 << 20) : shared_memory::attach(rt, name);
  if (create)
    fill(block.buf(), seed);
  ready.set();
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(holds_block);

void bumps(proctor::shared_value<std::int64_t> counter, int times) {
  for (int i = 0; i < times; ++i) {
    std::lock_guard<proctor::rlock> guard{counter.get_lock()};
    counter.set(counter.value() + 1); // value() and set() re-enter the lock
  }
}
PROCTOR_TASK(bumps);

void fills_slice(proctor::shared_array<std::int32_t> a, std::size_t from, std::size_t count) {
  for (auto i = from; i < from + count; ++i)
    a.store(i, static_cast<std::int32_t>(i * 3));
}
PROCTOR_TASK(fills_slice);

TEST(shared_memory, handles_of_one_block_share_its_memory) {
  auto& rt = test_runtime();
  auto before = named_blocks();
  auto made = shared_memory::create(rt, "shm-one", 10000);
  EXPECT_EQ(made.name(), "shm-one");
  EXPECT_EQ(made.size(), 10000u);
  auto attached = shared_memory::attach(rt, "shm-one");
  EXPECT_EQ(attached.size(), 10000u);
  fill(made.buf(), 7);
  EXPECT_TRUE(holds(attached.buf(), 7));
  EXPECT_EQ(named_blocks(), before + 1);
  // Python's names are "psm_" and hex digits; so are ours.
  auto fresh = shared_memory::create(rt, 100);
  EXPECT_TRUE(fresh.name().starts_with("psm_")) << fresh.name();
  EXPECT_NE(shared_memory::create(rt, 100).name(), fresh.name());
}

TEST(shared_memory, bad_requests_get_clear_errors) {
  auto& rt = test_runtime();
  auto held = shared_memory::create(rt, "shm-taken", 64);
  EXPECT_EQ(error_of([&] { shared_memory::create(rt, "shm-taken", 64); }), errc::name_taken);
  EXPECT_EQ(error_of([&] { shared_memory::attach(rt, "shm-nobody"); }), errc::no_such_block);
  EXPECT_EQ(error_of([&] { shared_memory::create(rt, "shm-empty", 0); }), errc::bad_argument);
  EXPECT_EQ(error_of([&] { shared_memory::create(rt, "", 64); }), errc::bad_argument);
  EXPECT_EQ(error_of([&] { shared_memory::create(rt, std::string(300, 'x'), 64); }),
            errc::bad_argument);
  auto too_big = proctor::internal::impl_of(rt).max_shared_size() + 1;
  EXPECT_EQ(error_of([&] { shared_memory::create(rt, too_big); }), errc::bad_argument);
  EXPECT_EQ(error_of([&] { shared_memory{}.buf(); }), errc::invalid_state);
}

TEST(shared_memory, close_and_unlink_end_a_block_as_python_says) {
  auto& rt = test_runtime();
  auto fds = block_fds();
  auto before = named_blocks();
  {
    auto block = shared_memory::create(rt, "shm-closed", 4096);
    auto copy = block;
    block.close(); // for every copy: the last hold goes, and so does the name
    EXPECT_EQ(error_of([&] { copy.buf(); }), errc::invalid_state);
    EXPECT_EQ(named_blocks(), before);
    EXPECT_EQ(error_of([&] { shared_memory::attach(rt, "shm-closed"); }), errc::no_such_block);
    block.close(); // again: nothing
  }
  {
    // Python's order: close() then unlink() (the close took the name along).
    auto block = shared_memory::create(rt, "shm-python", 4096);
    block.close();
    block.unlink();
    EXPECT_EQ(error_of([&] { block.unlink(); }), errc::no_such_block);
  }
  auto block = shared_memory::create(rt, "shm-unlinked", 4096);
  fill(block.buf(), 3);
  block.unlink();
  EXPECT_EQ(error_of([&] { shared_memory::attach(rt, "shm-unlinked"); }), errc::no_such_block);
  EXPECT_EQ(error_of([&] { block.unlink(); }), errc::no_such_block);
  EXPECT_TRUE(holds(block.buf(), 3)); // still mapped here
  // The name is free for a new block, which the old handle never reaches.
  auto again = shared_memory::create(rt, "shm-unlinked", 4096);
  EXPECT_TRUE(holds(block.buf(), 3));
  again.close();
  block.close();
  EXPECT_EQ(block_fds(), fds);
}

TEST(shared_memory, workers_write_what_the_master_reads) {
  auto& rt = test_runtime();
  auto block = shared_memory::create(rt, 1 << 20);
  proctor::process by_handle{rt, fills_block, block, 11};
  by_handle.start();
  ASSERT_TRUE(by_handle.join(limit));
  EXPECT_EQ(by_handle.exitcode(), std::optional<int>{0});
  EXPECT_TRUE(holds(block.buf(), 11));
  proctor::process by_name{rt, fills_block_by_name, block.name(), 12};
  by_name.start();
  ASSERT_TRUE(by_name.join(limit));
  EXPECT_EQ(by_name.exitcode(), std::optional<int>{0});
  EXPECT_TRUE(holds(block.buf(), 12));
  // The workers' holds went with them: only the master's is left.
  block.close();
  EXPECT_TRUE(eventually([&] { return error_of([&] {
                                   shared_memory::attach(rt, block.name());
                                 }) == errc::no_such_block; }));
}

TEST(shared_memory, a_worker_asking_for_a_block_that_is_gone_gets_no_such_block) {
  auto& rt = test_runtime();
  proctor::queue<int> codes{rt};
  proctor::process child{rt, reports_attach, std::string{"shm-never"}, codes};
  child.start();
  EXPECT_EQ(codes.get(limit), static_cast<int>(errc::no_such_block));
  ASSERT_TRUE(child.join(limit));
}

TEST(shared_memory, a_workers_worker_is_told_it_has_no_shared_memory) {
  auto& rt = test_runtime();
  proctor::queue<int> codes{rt};
  proctor::process child{rt, starts_a_grandchild, codes};
  child.start();
  EXPECT_EQ(codes.get(limit), static_cast<int>(errc::bad_argument));
  ASSERT_TRUE(child.join(limit));
}

TEST(shared_memory, killing_every_holder_frees_the_block) {
  auto& rt = test_runtime();
  auto fds = block_fds();
  auto maps = block_mappings();
  auto before = named_blocks();
  proctor::event created{rt};
  proctor::event attached{rt};
  proctor::process maker{rt, holds_block, std::string{"shm-killed"}, true, 5, created};
  maker.start();
  ASSERT_TRUE(created.wait(limit));
  proctor::process taker{rt, holds_block, std::string{"shm-killed"}, false, 0, attached};
  taker.start();
  ASSERT_TRUE(attached.wait(limit));
  {
    // The master keeps the name and the descriptor; a look maps it here.
    EXPECT_EQ(named_blocks(), before + 1);
    EXPECT_EQ(block_fds(), fds + 1);
    EXPECT_GT(block_mappings(), maps);
    auto look = shared_memory::attach(rt, "shm-killed");
    EXPECT_TRUE(holds(look.buf(), 5));
  }
  maker.kill();
  ASSERT_TRUE(maker.join(limit));
  // One holder is left: the block lives on.
  EXPECT_TRUE(holds(shared_memory::attach(rt, "shm-killed").buf(), 5));
  taker.kill();
  ASSERT_TRUE(taker.join(limit));
  EXPECT_TRUE(eventually([&] { return named_blocks() == before; }));
  EXPECT_EQ(error_of([&] { shared_memory::attach(rt, "shm-killed"); }), errc::no_such_block);
  EXPECT_TRUE(eventually([&] { return block_fds() == fds && block_mappings() == maps; }))
    << block_fds() << " descriptors, " << block_mappings() << " mappings";
}

TEST(shared_value, increments_under_its_lock_from_many_processes_add_up) {
  auto& rt = test_runtime();
  proctor::shared_value<std::int64_t> counter{rt, 100};
  std::vector<std::unique_ptr<proctor::process>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<proctor::process>(rt, bumps, counter, 50));
    workers.back()->start();
  }
  for (auto& w : workers) {
    ASSERT_TRUE(w->join(limit));
    EXPECT_EQ(w->exitcode(), std::optional<int>{0});
  }
  EXPECT_EQ(counter.value(), 250);
  counter.get_obj() = 7; // the memory itself, without the lock
  EXPECT_EQ(counter.value(), 7);
}

TEST(shared_value, one_made_without_a_lock_has_none) {
  auto& rt = test_runtime();
  proctor::shared_value<double> x{rt, 2.5, false};
  EXPECT_EQ(x.value(), 2.5);
  x.set(4.0);
  EXPECT_EQ(x.get_obj(), 4.0);
  EXPECT_EQ(error_of([&] { x.get_lock(); }), errc::invalid_state);
}

TEST(shared_array, workers_fill_their_slices_of_one_array) {
  auto& rt = test_runtime();
  proctor::shared_array<std::int32_t> a{rt, 1000};
  EXPECT_EQ(a.size(), 1000u);
  proctor::process low{rt, fills_slice, a, std::size_t{0}, std::size_t{500}};
  proctor::process high{rt, fills_slice, a, std::size_t{500}, std::size_t{500}};
  low.start();
  high.start();
  ASSERT_TRUE(low.join(limit));
  ASSERT_TRUE(high.join(limit));
  auto all = a.snapshot();
  ASSERT_EQ(all.size(), 1000u);
  for (std::size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(all[i], static_cast<std::int32_t>(i * 3)) << i;
  EXPECT_EQ(a.load(999), 2997);
  EXPECT_EQ(error_of([&] { a.load(1000); }), errc::bad_argument);
  EXPECT_EQ(error_of([&] { a.assign(std::vector<std::int32_t>(3)); }), errc::bad_argument);
  std::vector<std::int32_t> ones(1000, 1);
  a.assign(ones);
  EXPECT_EQ(a.get_obj()[500], 1);
  proctor::shared_array<std::int32_t> empty{rt, 0};
  EXPECT_TRUE(empty.snapshot().empty());
  const std::int32_t init[] = {4, 5, 6};
  proctor::shared_array<std::int32_t> copied{rt, std::span<const std::int32_t>{init}};
  EXPECT_EQ(copied.snapshot(), (std::vector<std::int32_t>{4, 5, 6}));
}

TEST(shared_value, one_decoded_as_another_type_refuses_to_be_read) {
  auto& rt = test_runtime();
  proctor::shared_value<std::int32_t> narrow{rt, 5, false};
  std::vector<char> wire;
  caf::binary_serializer sink{rt.system(), wire};
  ASSERT_FALSE(sink(narrow));
  proctor::shared_value<std::int64_t> wide;
  caf::binary_deserializer as_wide{rt.system(), wire};
  ASSERT_FALSE(as_wide(wide));
  EXPECT_EQ(error_of([&] { wide.value(); }), errc::type_mismatch);
  proctor::shared_value<std::int32_t> same;
  caf::binary_deserializer as_same{rt.system(), wire};
  ASSERT_FALSE(as_same(same));
  EXPECT_EQ(same.value(), 5);
}
