#include "transport/base/fd_passing.hpp"

#include <cerrno>
#include <filesystem>
#include <vector>

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/base/scoped_fd.hpp"

using proctor::internal::receive_with_fds;
using proctor::internal::scoped_fd;
using proctor::internal::send_with_fds;

namespace {

/// How many of this process's descriptors refer to the pipe `inode`. (Not a
/// count of all descriptors: the runtime's threads open and close their own
/// meanwhile.)
std::size_t descriptors_of(ino_t inode) {
  std::size_t n = 0;
  auto name = "pipe:[" + std::to_string(inode) + "]";
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator{"/proc/self/fd", ec})
    if (std::filesystem::read_symlink(entry.path(), ec).string() == name)
      ++n;
  return n;
}

ino_t inode_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

struct socket_pair {
  scoped_fd a, b;
  socket_pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

struct pipe_ends {
  scoped_fd read, write;
  pipe_ends() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    read.reset(p[0]);
    write.reset(p[1]);
  }
};

ssize_t send_byte(int socket, std::vector<int> fds) {
  char byte = 'x';
  iovec part{&byte, 1};
  return send_with_fds(socket, {&part, 1}, fds);
}

} // namespace

TEST(fd_passing, descriptors_arrive_with_the_first_byte_and_work) {
  socket_pair channel;
  pipe_ends pipe;
  ASSERT_EQ(send_byte(channel.a.get(), {pipe.read.get(), pipe.write.get()}), 1);
  char byte = 0;
  std::vector<int> fds;
  ASSERT_EQ(receive_with_fds(channel.b.get(), {&byte, 1}, fds, 2), 1);
  EXPECT_EQ(byte, 'x');
  ASSERT_EQ(fds.size(), 2u);
  scoped_fd read{fds[0]}, write{fds[1]};
  ASSERT_EQ(::write(write.get(), "ok", 2), 2);
  char got[2];
  ASSERT_EQ(::read(pipe.read.get(), got, 2), 2);
  EXPECT_EQ(std::string(got, 2), "ok");
}

TEST(fd_passing, a_message_without_descriptors_reads_as_plain_bytes) {
  socket_pair channel;
  ASSERT_EQ(send_byte(channel.a.get(), {}), 1);
  char byte = 0;
  std::vector<int> fds;
  EXPECT_EQ(receive_with_fds(channel.b.get(), {&byte, 1}, fds, 1), 1);
  EXPECT_TRUE(fds.empty());
}

TEST(fd_passing, more_descriptors_than_expected_are_refused_and_none_is_kept) {
  socket_pair channel;
  ino_t sent[2];
  {
    pipe_ends a, b;
    sent[0] = inode_of(a.read.get());
    sent[1] = inode_of(b.read.get());
    ASSERT_EQ(send_byte(channel.a.get(), {a.read.get(), a.write.get(), b.read.get()}), 1);
  } // the sender's copies are closed: only the message holds them now
  char byte = 0;
  std::vector<int> fds;
  errno = 0;
  EXPECT_EQ(receive_with_fds(channel.b.get(), {&byte, 1}, fds, 1), -1);
  EXPECT_EQ(errno, EBADMSG);
  EXPECT_TRUE(fds.empty());
  EXPECT_EQ(descriptors_of(sent[0]), 0u);
  EXPECT_EQ(descriptors_of(sent[1]), 0u);
}

TEST(fd_passing, the_end_of_the_stream_reads_as_zero) {
  socket_pair channel;
  channel.a.reset();
  char byte = 0;
  std::vector<int> fds;
  EXPECT_EQ(receive_with_fds(channel.b.get(), {&byte, 1}, fds, 1), 0);
}

TEST(fd_passing, more_than_the_limit_is_not_sent) {
  socket_pair channel;
  std::vector<int> many(proctor::internal::max_passed_fds + 1, channel.a.get());
  errno = 0;
  EXPECT_EQ(send_byte(channel.a.get(), many), -1);
  EXPECT_EQ(errno, EINVAL);
}
