// Writable shared memory: what a holder accepts, that every holder sees
// the others' writes, and that nothing of it outlives its last holder.
#include "transport/base/shared_block.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "tests/support/descriptors.hpp"
#include "transport/base/sealed_segment.hpp"

using namespace proctor::internal;
using proctor::testing::fds_naming;
using proctor::testing::mappings_naming;

namespace {

constexpr std::uint64_t limit = 1 << 20;

/// A memfd of `size` bytes with `seals` added.
scoped_fd memfd_with(std::size_t size, int seals) {
  scoped_fd fd{::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  if (seals != 0)
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, seals), 0);
  return fd;
}

constexpr int fixed = F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

std::size_t held() {
  return fds_naming("memfd:proctor-shared") + mappings_naming("memfd:proctor-shared");
}

} // namespace

TEST(shared_block, a_new_block_is_zeroed_and_every_holder_sees_every_write) {
  auto before = held();
  {
    auto block = shared_block::create(10000);
    ASSERT_EQ(block->span().size(), 10000u);
    for (auto b : block->span())
      ASSERT_EQ(b, std::byte{0});
    std::string why;
    auto other = shared_block::adopt(scoped_fd{::dup(block->fd())}, 10000, limit, why);
    ASSERT_TRUE(other) << why;
    block->span()[42] = std::byte{7};
    EXPECT_EQ(other->span()[42], std::byte{7});
    other->span()[9999] = std::byte{9};
    EXPECT_EQ(block->span()[9999], std::byte{9});
  }
  EXPECT_EQ(held(), before);
}

TEST(shared_block, its_size_and_seals_are_fixed) {
  auto block = shared_block::create(4096);
  EXPECT_NE(::ftruncate(block->fd(), 8192), 0);
  EXPECT_NE(::ftruncate(block->fd(), 0), 0);
  EXPECT_NE(::fcntl(block->fd(), F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_THROW(shared_block::create(0), proctor::error);
}

TEST(shared_block, a_descriptor_that_is_not_a_fixed_writable_memfd_is_refused) {
  std::string why;
  // Not sealed, or sealed but still able to grow or take new seals.
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, 0), 4096, limit, why));
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, F_SEAL_GROW | F_SEAL_SHRINK), 4096, limit,
                                   why));
  // Read-only: a proctor::bytes segment, or a memfd sealed against writes.
  std::string content(4096, 'x');
  auto frozen = sealed_segment::copy_of(std::as_bytes(std::span<const char>{content}));
  EXPECT_FALSE(shared_block::adopt(scoped_fd{::dup(frozen->fd())}, 4096, limit, why));
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, fixed | F_SEAL_WRITE), 4096, limit, why));
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, F_SEAL_GROW | F_SEAL_SHRINK
                                                      | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL),
                                   4096, limit, why));
  // Not a memfd at all.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ::close(p[1]);
  EXPECT_FALSE(shared_block::adopt(scoped_fd{p[0]}, 4096, limit, why));
  auto* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(::ftruncate(::fileno(file), 4096), 0);
  EXPECT_FALSE(shared_block::adopt(scoped_fd{::dup(::fileno(file))}, 4096, limit, why));
  EXPECT_NE(why.find("not a memfd"), std::string::npos) << why;
  std::fclose(file);
}

TEST(shared_block, a_size_other_than_announced_or_past_the_limit_is_refused) {
  std::string why;
  EXPECT_TRUE(shared_block::adopt(memfd_with(4096, fixed), 4096, limit, why)) << why;
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, fixed), 4095, limit, why));
  EXPECT_NE(why.find("announced"), std::string::npos) << why;
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, fixed), 8192, limit, why));
  EXPECT_FALSE(shared_block::adopt(memfd_with(4096, fixed), 4096, 4095, why));
  EXPECT_FALSE(shared_block::adopt(memfd_with(0, fixed), 0, limit, why));
}
