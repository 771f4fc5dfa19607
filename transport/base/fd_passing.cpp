#include "transport/base/fd_passing.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <unistd.h>

namespace proctor::internal {

namespace {

struct control_buffer {
  alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int) * max_passed_fds)];
};

} // namespace

bool is_unix_socket(int fd) noexcept {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0
         && addr.ss_family == AF_UNIX;
}

ssize_t send_with_fds(int socket, std::span<const iovec> data,
                      std::span<const int> fds) noexcept {
  if (fds.size() > max_passed_fds) {
    errno = EINVAL;
    return -1;
  }
  control_buffer control{};
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(data.data());
  msg.msg_iovlen = data.size();
  if (!fds.empty()) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    auto* header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t receive_with_fds(int socket, std::span<char> data, std::vector<int>& fds,
                         std::size_t max_fds) noexcept {
  control_buffer control;
  iovec part{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &part;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return n;
  std::vector<int> received;
  for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    auto count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      received.push_back(fd);
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0 || received.size() > max_fds) {
    std::for_each(received.begin(), received.end(), ::close);
    errno = EBADMSG;
    return -1;
  }
  fds.insert(fds.end(), received.begin(), received.end());
  return n;
}

} // namespace proctor::internal
