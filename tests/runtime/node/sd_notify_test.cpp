// A node under systemd (Type=notify): READY=1 once it joined its master,
// and WATCHDOG=1 while it holds it, as datagrams to $NOTIFY_SOCKET.
#include "runtime/node/sd_notify.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::testing::helper_argv;
using proctor::testing::subprocess;

namespace {

/// A datagram socket standing in for systemd's notification socket.
struct notify_socket {
  std::string dir = proctor::testing::make_temp_dir();
  std::string path = dir + "/notify";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  notify_socket() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }

  ~notify_socket() {
    ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }

  /// The next datagram, or empty after `timeout`.
  std::string next(std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      return {};
    char buf[512];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
  }
};

} // namespace

TEST(sd_notify, sends_one_datagram_and_does_nothing_without_a_socket) {
  // No setenv here: other threads of the test binary (a runtime's service
  // thread forking its fork server) read the environment concurrently.
  notify_socket sock;
  EXPECT_TRUE(proctor::internal::sd_notify_to(sock.path, "STATUS=hello"));
  EXPECT_EQ(sock.next(10s), "STATUS=hello");
  EXPECT_TRUE(proctor::internal::sd_notify_to("", "READY=1")); // no socket: nothing to do
  EXPECT_FALSE(proctor::internal::sd_notify_to("/nonexistent/socket", "READY=1"));
}

TEST(sd_notify, a_node_is_ready_once_joined_and_feeds_the_watchdog) {
  notify_socket sock;
  std::vector<std::string> env{"PROCTOR_AUTHKEY=notify"};
  subprocess master{helper_argv("serve"), env};
  ASSERT_TRUE(master.wait_for_lines(1, 30s)) << master.err();
  env.push_back("NOTIFY_SOCKET=" + sock.path);
  env.push_back("WATCHDOG_USEC=200000");
  subprocess node{{helper_argv("none").at(0), "--proctor.join=" + master.out_lines().at(0)}, env};
  auto ready = sock.next(30s);
  EXPECT_EQ(ready.rfind("READY=1\n", 0), 0u) << ready;
  EXPECT_EQ(sock.next(30s), "WATCHDOG=1");
}
