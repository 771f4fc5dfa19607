// Frames that carry descriptors, and what a peer holding the key can and
// cannot make a connection do with them.
#include "transport/connection.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "tests/support/connection_fixture.hpp"
#include "tests/support/descriptors.hpp"
#include "transport/base/fd_passing.hpp"
#include "transport/base/scoped_fd.hpp"
#include "transport/frame.hpp"

using namespace proctor::internal;
using namespace std::chrono_literals;
using proctor::errc;
using namespace proctor::testing;

namespace {

class connection_fd_test : public connection_fixture {};

/// A pipe whose read end's identity a receiver can check.
struct marked_pipe {
  int fds[2] = {-1, -1};
  marked_pipe() {
    EXPECT_EQ(::pipe(fds), 0);
  }
  ~marked_pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  ino_t inode() const {
    struct stat st{};
    ::fstat(fds[0], &st);
    return st.st_ino;
  }
};

std::vector<char> text(const std::string& s) {
  return {s.begin(), s.end()};
}

/// Writes one forged frame on a raw duplicate of a connection's socket.
void write_forged(int raw, frame_header hdr, std::span<const char> payload,
                  std::span<const int> fds) {
  auto header = encode_header(hdr);
  iovec parts[2] = {{header.data(), header.size()},
                    {const_cast<char*>(payload.data()), payload.size()}};
  ASSERT_EQ(send_with_fds(raw, {parts, payload.empty() ? 1u : 2u}, fds),
            static_cast<ssize_t>(header.size() + payload.size()));
}

} // namespace

TEST_F(connection_fd_test, descriptors_arrive_with_their_frame_in_order) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(a.conn->passes_descriptors());
  marked_pipe first, second;
  ASSERT_FALSE(a.conn->send(frame_kind::message, text("plain")));
  ASSERT_FALSE(a.conn->send(frame_kind::message, text("two"),
                            {{first.fds[0], nullptr}, {second.fds[0], nullptr}}));
  ASSERT_FALSE(a.conn->send(frame_kind::message, text("after")));
  ASSERT_FALSE(a.conn->send(frame_kind::message, text("one"), {{first.fds[1], nullptr}}));
  auto frames = b.rec->wait_frames(4);
  ASSERT_EQ(frames, (std::vector<std::string>{"plain", "two", "after", "one"}));
  auto fds = b.rec->take_descriptors();
  ASSERT_EQ(fds.size(), 4u);
  EXPECT_TRUE(fds[0].empty());
  ASSERT_EQ(fds[1].size(), 2u);
  EXPECT_EQ(inode_of(fds[1][0].get()), first.inode());
  EXPECT_EQ(inode_of(fds[1][1].get()), second.inode());
  EXPECT_TRUE(fds[2].empty());
  ASSERT_EQ(fds[3].size(), 1u);
  EXPECT_EQ(inode_of(fds[3][0].get()), inode_of(first.fds[1]));
}

TEST_F(connection_fd_test, large_frames_with_descriptors_interleave_with_small_ones) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(a.rec->wait_established());
  marked_pipe p;
  constexpr int rounds = 40;
  std::vector<std::string> sent;
  for (int i = 0; i < rounds; ++i) {
    std::string big(300 * 1024 + i, static_cast<char>('a' + i % 26));
    ASSERT_FALSE(a.conn->send(frame_kind::message, text(big), {{p.fds[0], nullptr}}));
    sent.push_back(big);
    auto small = std::to_string(i);
    ASSERT_FALSE(a.conn->send(frame_kind::message, text(small)));
    sent.push_back(small);
  }
  auto frames = b.rec->wait_frames(sent.size());
  ASSERT_EQ(frames.size(), sent.size());
  EXPECT_TRUE(frames == sent);
  auto fds = b.rec->take_descriptors();
  ASSERT_EQ(fds.size(), sent.size());
  for (std::size_t i = 0; i < fds.size(); ++i) {
    ASSERT_EQ(fds[i].size(), i % 2 == 0 ? 1u : 0u) << "frame " << i;
    if (i % 2 == 0)
      EXPECT_EQ(inode_of(fds[i][0].get()), p.inode());
  }
}

TEST_F(connection_fd_test, descriptors_the_handler_leaves_are_closed) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(b.rec->wait_established());
  marked_pipe p;
  // A `down` frame's descriptors are left untaken by the recorder.
  for (int i = 0; i < 50; ++i)
    ASSERT_FALSE(a.conn->send(frame_kind::down, text("x"), {{p.fds[0], nullptr}}));
  ASSERT_FALSE(a.conn->send(frame_kind::message, text("end")));
  ASSERT_EQ(b.rec->wait_frames(51).size(), 51u);
  // Only the test's own two ends of the pipe are left.
  EXPECT_EQ(fds_on(p.inode()), 2u);
}

TEST_F(connection_fd_test, more_descriptors_than_a_frame_may_carry_are_not_sent) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  marked_pipe p;
  std::vector<passed_fd> many(max_passed_fds + 1, {p.fds[0], nullptr});
  EXPECT_EQ(a.conn->send(frame_kind::message, text("x"), many), errc::bad_argument);
}

TEST_F(connection_fd_test, a_frame_announcing_descriptors_that_did_not_come_is_refused) {
  int raw = -1;
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"), &raw);
  scoped_fd keep{raw};
  ASSERT_TRUE(a.rec->wait_established());
  ASSERT_TRUE(b.rec->wait_established());
  frame_header hdr;
  hdr.kind = frame_kind::message;
  hdr.flags = 2;
  hdr.length = 3;
  write_forged(raw, hdr, std::span<const char>{"abc", 3}, {});
  EXPECT_EQ(b.rec->wait_closed(), errc::protocol_violation);
  EXPECT_NE(b.rec->detail().find("announces 2 descriptors"), std::string::npos)
    << b.rec->detail();
}

TEST_F(connection_fd_test, a_frame_announcing_more_than_the_limit_is_refused) {
  int raw = -1;
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"), &raw);
  scoped_fd keep{raw};
  ASSERT_TRUE(b.rec->wait_established());
  ASSERT_TRUE(a.rec->wait_established());
  frame_header hdr;
  hdr.kind = frame_kind::message;
  hdr.flags = max_passed_fds + 1;
  hdr.length = 1;
  write_forged(raw, hdr, std::span<const char>{"a", 1}, {});
  EXPECT_EQ(b.rec->wait_closed(), errc::protocol_violation);
}

TEST_F(connection_fd_test, descriptors_no_frame_claims_are_refused_and_closed) {
  int raw = -1;
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"), &raw);
  scoped_fd keep{raw};
  ASSERT_TRUE(a.rec->wait_established());
  ASSERT_TRUE(b.rec->wait_established());
  marked_pipe p;
  std::vector<int> fds(max_passed_fds, p.fds[0]);
  frame_header hdr;
  hdr.kind = frame_kind::message;
  hdr.length = 1;
  // Frames that announce none, each with 16 descriptors riding along.
  for (int i = 0; i < 4; ++i)
    write_forged(raw, hdr, std::span<const char>{"a", 1}, fds);
  EXPECT_EQ(b.rec->wait_closed(), errc::protocol_violation);
  a.conn->close(errc::connection_closed);
  ASSERT_NE(a.rec->wait_closed(), errc::timeout);
  // What arrived was closed with the connection: only the test's own ends
  // of the pipe are left.
  EXPECT_EQ(fds_on(p.inode()), 2u);
}

TEST_F(connection_fd_test, descriptors_before_the_handshake_are_refused) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  marked_pipe p;
  // A hello's worth of garbage would be refused anyway; descriptors with
  // no bytes yet of a frame are refused for themselves.
  std::vector<int> fds{p.fds[0]};
  char byte = 'P';
  iovec part{&byte, 1};
  ASSERT_EQ(send_with_fds(raw.fd, {&part, 1}, fds), 1);
  EXPECT_EQ(end.rec->wait_closed(), errc::protocol_violation);
}
