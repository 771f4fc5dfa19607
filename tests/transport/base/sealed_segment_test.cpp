// Sealed shared memory: what a receiver accepts, and that nothing of it
// outlives its last holder.
#include "transport/base/sealed_segment.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "tests/support/descriptors.hpp"

using namespace proctor::internal;
using proctor::testing::segment_fds;
using proctor::testing::segment_mappings;

namespace {

constexpr std::uint64_t limit = 1 << 20;

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>{s.data(), s.size()});
}

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A memfd holding `content`, with `seals` added.
scoped_fd memfd_with(const std::string& content, int seals) {
  scoped_fd fd{::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  EXPECT_TRUE(fd);
  EXPECT_EQ(::write(fd.get(), content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  if (seals != 0)
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, seals), 0);
  return fd;
}

constexpr int all_seals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;

} // namespace

TEST(sealed_segment, a_copy_is_sealed_and_holds_the_content) {
  std::string content(100000, 'q');
  auto segment = sealed_segment::copy_of(as_bytes(content));
  EXPECT_EQ(as_string(segment->content()), content);
  auto seals = ::fcntl(segment->fd(), F_GET_SEALS);
  EXPECT_EQ(seals & all_seals, all_seals);
  // Nobody can change it any more, not even through the descriptor.
  EXPECT_LT(::pwrite(segment->fd(), "x", 1, 0), 0);
  EXPECT_NE(::ftruncate(segment->fd(), 10), 0);
}

TEST(sealed_segment, a_received_segment_is_mapped_when_it_is_what_was_announced) {
  std::string why;
  auto segment = sealed_segment::adopt(memfd_with("hello", all_seals), 5, limit, why);
  ASSERT_TRUE(segment) << why;
  EXPECT_EQ(as_string(segment->content()), "hello");
}

TEST(sealed_segment, a_size_other_than_announced_is_refused) {
  std::string why;
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("hello", all_seals), 4, limit, why));
  EXPECT_NE(why.find("differs"), std::string::npos) << why;
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("hello", all_seals), 4096, limit, why));
}

TEST(sealed_segment, more_than_the_limit_is_refused_before_mapping) {
  std::string why;
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("hello", all_seals), 5, 4, why));
  EXPECT_NE(why.find("limit"), std::string::npos) << why;
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("", all_seals), 0, limit, why));
}

TEST(sealed_segment, an_unsealed_or_writable_memfd_is_refused) {
  std::string why;
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("hello", 0), 5, limit, why));
  EXPECT_NE(why.find("sealed"), std::string::npos) << why;
  // Sealed against shrinking only: the sender could still write.
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("hello", F_SEAL_SHRINK | F_SEAL_GROW), 5,
                                     limit, why));
  // Writable and growable: it could be truncated under a mapping (SIGBUS).
  EXPECT_FALSE(sealed_segment::adopt(memfd_with("hello", F_SEAL_WRITE), 5, limit, why));
}

TEST(sealed_segment, other_kinds_of_descriptor_are_refused) {
  std::string why;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ::close(sv[1]);
  EXPECT_FALSE(sealed_segment::adopt(scoped_fd{sv[0]}, 5, limit, why));
  auto* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::fputs("hello", file);
  std::fflush(file);
  EXPECT_FALSE(sealed_segment::adopt(scoped_fd{::dup(::fileno(file))}, 5, limit, why));
  std::fclose(file);
  EXPECT_FALSE(sealed_segment::adopt(scoped_fd{-1}, 5, limit, why));
}

TEST(sealed_segment, a_writer_seals_what_was_written_in_place) {
  segment_writer writer{70000};
  std::memset(writer.span().data(), 'w', writer.span().size());
  auto segment = writer.seal();
  EXPECT_EQ(as_string(segment->content()), std::string(70000, 'w'));
  EXPECT_EQ(::fcntl(segment->fd(), F_GET_SEALS) & all_seals, all_seals);
  EXPECT_THROW(writer.seal(), proctor::error);
}

TEST(sealed_segment, nothing_is_left_once_the_last_holder_is_gone) {
  auto fds = segment_fds();
  auto maps = segment_mappings();
  {
    std::string content(200000, 'z');
    auto a = sealed_segment::copy_of(as_bytes(content));
    segment_writer w{100000};
    auto b = w.seal();
    std::string why;
    auto c = sealed_segment::adopt(scoped_fd{::dup(a->fd())}, content.size(), limit, why);
    ASSERT_TRUE(c) << why;
    EXPECT_EQ(segment_mappings(), maps + 3);
    EXPECT_EQ(segment_fds(), fds + 3);
  }
  EXPECT_EQ(segment_fds(), fds);
  EXPECT_EQ(segment_mappings(), maps);
}
