// A pool worker's recycled result memory: a slot comes back to the pool
// only once no value here reads it and its parent gave every loan back;
// one that goes anywhere else is sealed for good and never comes back.
#include "transport/base/segment_pool.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include <fcntl.h>

#include "actors/wire/loans.hpp"

using namespace proctor::internal;

namespace {

constexpr std::size_t size = 1 << 20;

/// A slot's first `size` bytes written with `c`, as a value.
std::shared_ptr<pooled_segment> written(segment_pool& pool, char c) {
  auto slot = pool.take(size);
  std::memset(slot->writable(), c, size);
  auto value = std::make_shared<pooled_segment>(slot, size);
  slot->drop(); // the writer's hold
  return value;
}

} // namespace

TEST(segment_pool, a_slot_nobody_reads_is_taken_again_zeroed) {
  segment_pool pool;
  auto first = written(pool, 'a');
  auto id = (*first->pooled())->id();
  EXPECT_EQ(first->content()[size - 1], std::byte{'a'});
  EXPECT_EQ(pool.free_slots(), 0u);
  first.reset();
  EXPECT_EQ(pool.free_slots(), 1u);
  auto again = pool.take(size);
  EXPECT_EQ(again->id(), id);
  EXPECT_EQ(again->writable()[size - 1], std::byte{0});
  again->drop();
  pool.trim();
  EXPECT_EQ(pool.free_slots(), 0u);
}

TEST(segment_pool, a_lent_slot_comes_back_only_when_returned) {
  segment_pool pool;
  auto value = written(pool, 'b');
  auto slot = *value->pooled();
  slot->lend();
  slot->lend(); // sent twice
  value.reset();
  EXPECT_EQ(pool.free_slots(), 0u);
  pool.returned(slot->id());
  pool.returned(slot->id() + 1000); // an id never lent: ignored
  EXPECT_EQ(pool.free_slots(), 0u);
  pool.returned(slot->id());
  EXPECT_EQ(pool.free_slots(), 1u);
  pool.returned(slot->id()); // one return too many: ignored
  EXPECT_EQ(pool.free_slots(), 1u);
}

TEST(segment_pool, a_graduated_slot_is_sealed_for_good_and_never_reused) {
  segment_pool pool;
  auto value = written(pool, 'c');
  auto slot = *value->pooled();
  // Lent before, and still mapped by the borrower: sealing it works.
  auto desk = loan_desk::make([](std::uint64_t) {});
  std::string why;
  auto borrowed = desk->borrow(scoped_fd{::dup(slot->fd())}, slot->capacity(), slot->id(), 10,
                               std::uint64_t{1} << 30, why);
  ASSERT_TRUE(borrowed) << why;
  ASSERT_TRUE(slot->graduate());
  EXPECT_TRUE(slot->graduated());
  int seals = ::fcntl(slot->fd(), F_GET_SEALS);
  EXPECT_EQ(seals & F_SEAL_WRITE, F_SEAL_WRITE);
  EXPECT_EQ(value->content()[0], std::byte{'c'}); // still readable
  EXPECT_EQ(borrowed->content()[0], std::byte{'c'});
  EXPECT_TRUE(sealed_segment::adopt(scoped_fd{::dup(slot->fd())}, slot->capacity(),
                                    std::uint64_t{1} << 30, why))
    << why; // an ordinary sealed segment now
  value.reset();
  slot.reset();
  EXPECT_EQ(pool.free_slots(), 0u);
}

TEST(loan_desk, a_slot_lent_again_is_read_through_the_same_mapping_and_given_back) {
  segment_pool pool;
  std::vector<std::uint64_t> given_back;
  auto desk = loan_desk::make([&](std::uint64_t id) { given_back.push_back(id); });
  auto value = written(pool, 'd');
  auto slot = *value->pooled();
  std::string why;
  auto first = desk->borrow(scoped_fd{::dup(slot->fd())}, slot->capacity(), slot->id(), 10,
                            std::uint64_t{1} << 30, why);
  ASSERT_TRUE(first) << why;
  EXPECT_TRUE(first->borrowed());
  EXPECT_EQ(first->content().size(), 10u);
  EXPECT_EQ(first->content()[9], std::byte{'d'});
  auto second = desk->borrow(scoped_fd{::dup(slot->fd())}, slot->capacity(), slot->id(), 20,
                             std::uint64_t{1} << 30, why);
  ASSERT_TRUE(second) << why;
  EXPECT_EQ(second->content().data(), first->content().data()); // no new mapping
  first.reset();
  EXPECT_EQ(given_back, (std::vector<std::uint64_t>{slot->id()}));
  second.reset();
  EXPECT_EQ(given_back, (std::vector<std::uint64_t>{slot->id(), slot->id()}));
}

TEST(loan_desk, a_loan_that_is_not_what_it_says_is_refused_and_given_back) {
  segment_pool pool;
  std::vector<std::uint64_t> given_back;
  auto desk = loan_desk::make([&](std::uint64_t id) { given_back.push_back(id); });
  auto value = written(pool, 'e');
  auto slot = *value->pooled();
  auto limit = std::uint64_t{1} << 30;
  std::string why;
  // Another size than the memfd's, a length past it, past the limit.
  EXPECT_FALSE(desk->borrow(scoped_fd{::dup(slot->fd())}, slot->capacity() + 4096, 1, 10,
                            limit, why));
  EXPECT_FALSE(desk->borrow(scoped_fd{::dup(slot->fd())}, slot->capacity(), 2,
                            slot->capacity() + 1, limit, why));
  EXPECT_FALSE(desk->borrow(scoped_fd{::dup(slot->fd())}, slot->capacity(), 3, 10, 4096, why));
  // Not a memfd of fixed size: a pipe.
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  scoped_fd keep{ends[1]};
  EXPECT_FALSE(desk->borrow(scoped_fd{ends[0]}, 4096, 4, 10, limit, why));
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(given_back, (std::vector<std::uint64_t>{1, 2, 3, 4}));
}
