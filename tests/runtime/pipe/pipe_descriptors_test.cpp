// A pipe's messages carrying descriptors, and what the other end cannot
// make a pipe do with them.
#include "runtime/pipe/pipe_socket.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "transport/base/fd_passing.hpp"
#include "tests/support/descriptors.hpp"

using namespace proctor::internal;
using namespace std::chrono_literals;
using proctor::testing::fds_on;
using proctor::testing::inode_of;

namespace {

struct pipe_pair {
  std::unique_ptr<pipe_socket> end;
  int raw = -1;
  pipe_pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    end = std::make_unique<pipe_socket>(sv[0], 1 << 20);
    raw = sv[1];
  }
  ~pipe_pair() {
    ::close(raw);
  }
  /// A message header as the raw side writes it, with `fds` attached.
  void write_raw(std::uint32_t word, std::vector<char> rest, std::span<const int> fds) {
    std::vector<char> bytes{static_cast<char>(word), static_cast<char>(word >> 8),
                            static_cast<char>(word >> 16), static_cast<char>(word >> 24)};
    bytes.insert(bytes.end(), rest.begin(), rest.end());
    iovec part{bytes.data(), bytes.size()};
    ASSERT_EQ(send_with_fds(raw, {&part, 1}, fds), static_cast<ssize_t>(bytes.size()));
  }
};

proctor::errc error_of(pipe_socket& end) {
  try {
    end.recv_with_descriptors(std::chrono::steady_clock::now() + 10s);
  } catch (const proctor::error& e) {
    return e.code();
  }
  return proctor::errc::ok;
}

} // namespace

TEST(pipe_descriptors, a_message_brings_its_descriptors_and_plain_ones_none) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pipe_socket a{sv[0], 1 << 20}, b{sv[1], 1 << 20};
  ASSERT_TRUE(a.passes_descriptors());
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::vector<char> hello{'h', 'i'};
  a.send(hello);
  std::vector<int> fds{p[0], p[1]};
  a.send(hello, fds);
  a.send(std::vector<char>(100000, 'x'), std::vector<int>{p[0]}); // fits the socket's buffer
  auto deadline = std::chrono::steady_clock::now() + 10s;
  auto first = b.recv_with_descriptors(deadline);
  EXPECT_EQ(first.bytes, hello);
  EXPECT_TRUE(first.fds.empty());
  auto second = b.recv_with_descriptors(deadline);
  EXPECT_EQ(second.bytes, hello);
  ASSERT_EQ(second.fds.size(), 2u);
  EXPECT_EQ(inode_of(second.fds[0].get()), inode_of(p[0]));
  auto third = b.recv_with_descriptors(deadline);
  EXPECT_EQ(third.bytes.size(), 100000u);
  ASSERT_EQ(third.fds.size(), 1u);
  ::close(p[0]);
  ::close(p[1]);
}

TEST(pipe_descriptors, a_message_announcing_descriptors_that_did_not_come_breaks_the_end) {
  pipe_pair pair;
  pair.write_raw((1u << 31) | 1, {2, 'x'}, {});
  EXPECT_EQ(error_of(*pair.end), proctor::errc::malformed_payload);
  // And the end stays broken.
  EXPECT_EQ(error_of(*pair.end), proctor::errc::malformed_payload);
}

TEST(pipe_descriptors, more_than_the_limit_or_none_announced_is_refused) {
  pipe_pair pair;
  pair.write_raw((1u << 31) | 1, {17, 'x'}, {});
  EXPECT_EQ(error_of(*pair.end), proctor::errc::malformed_payload);
  pipe_pair other;
  other.write_raw((1u << 31) | 1, {0, 'x'}, {});
  EXPECT_EQ(error_of(*other.end), proctor::errc::malformed_payload);
}

TEST(pipe_descriptors, descriptors_no_message_claims_are_refused_and_closed) {
  pipe_pair pair;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::vector<int> fds(max_passed_fds, p[0]);
  for (int i = 0; i < 3; ++i)
    pair.write_raw(1, {'x'}, fds);
  pair.write_raw(1, {'y'}, {});
  proctor::errc code = proctor::errc::ok;
  for (int i = 0; i < 4 && code == proctor::errc::ok; ++i)
    code = error_of(*pair.end);
  EXPECT_EQ(code, proctor::errc::malformed_payload);
  EXPECT_EQ(fds_on(inode_of(p[0])), 2u); // only the test's own ends
  ::close(p[0]);
  ::close(p[1]);
}
