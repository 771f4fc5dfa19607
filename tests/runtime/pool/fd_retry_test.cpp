// A prefork TCP server: the master accepts, a pool serves each connection as
// a proctor::fd. A worker killed in the middle of a connection hands it to
// the next worker on retry; a task that asked for no retry fails instead.
#include "proctor/fd.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proctor/pool.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 60s;

bool write_all(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL)
         == static_cast<ssize_t>(text.size());
}

/// One line without its newline; nothing on EOF or after `timeout`.
std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      return std::nullopt;
    char c;
    if (::recv(fd, &c, 1, 0) != 1)
      return std::nullopt;
    if (c == '\n')
      return line;
    line += c;
  }
}

/// A listening TCP socket on the loopback, with an ephemeral port.
struct listener {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};

  listener() {
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || ::listen(fd, 64) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
      fd = -1;
  }
  ~listener() {
    if (fd >= 0)
      ::close(fd);
  }

  /// A client connection and the master's accepted end of it.
  std::pair<int, int> connect_one() const {
    int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(client, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      return {-1, -1};
    return {client, ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)};
  }
};

} // namespace

/// Greets the client with its pid, then answers one "ping" with "pong".
void greets_then_pongs(proctor::fd connection) {
  int fd = connection.get();
  write_all(fd, "hello " + std::to_string(::getpid()) + "\n");
  if (read_line(fd, limit) == "ping")
    write_all(fd, "pong\n");
}
PROCTOR_TASK(greets_then_pongs);

int plus_one(int x) {
  return x + 1;
}
PROCTOR_TASK(plus_one);

TEST(fd_retry, a_connection_outlives_the_worker_killed_serving_it) {
  listener server;
  ASSERT_GE(server.fd, 0);
  proctor::pool p{test_runtime(), {.processes = 4, .max_retries = 3}};
  constexpr int connections = 8;
  std::vector<int> clients;
  std::vector<proctor::async_result<void>> served;
  for (int i = 0; i < connections; ++i) {
    auto [client, accepted] = server.connect_one();
    ASSERT_GE(client, 0);
    ASSERT_GE(accepted, 0);
    clients.push_back(client);
    served.push_back(p.apply_async(greets_then_pongs, proctor::fd{accepted}));
  }
  for (int i = 0; i < connections; ++i) {
    auto first = read_line(clients[i], limit);
    ASSERT_TRUE(first && first->starts_with("hello ")) << i;
    auto pid = std::stoi(first->substr(6));
    // The worker dies in the middle of the connection.
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    auto second = read_line(clients[i], limit);
    ASSERT_TRUE(second && second->starts_with("hello ")) << i;
    EXPECT_NE(std::stoi(second->substr(6)), pid);
    ASSERT_TRUE(write_all(clients[i], "ping\n"));
    EXPECT_EQ(read_line(clients[i], limit), "pong");
    EXPECT_NO_THROW(served[i].get(limit));
    // Served: every copy of the connection is closed.
    EXPECT_EQ(read_line(clients[i], limit), std::nullopt);
    ::close(clients[i]);
  }
}

TEST(fd_retry, a_no_retry_task_fails_with_the_signal_and_its_connection_closes) {
  listener server;
  ASSERT_GE(server.fd, 0);
  proctor::pool p{test_runtime(), {.processes = 2, .max_retries = 3}};
  auto [client, accepted] = server.connect_one();
  ASSERT_GE(client, 0);
  auto served = p.apply_async(proctor::no_retry, greets_then_pongs, proctor::fd{accepted});
  auto first = read_line(client, limit);
  ASSERT_TRUE(first && first->starts_with("hello "));
  ASSERT_EQ(::kill(std::stoi(first->substr(6)), SIGKILL), 0);
  try {
    served.get(limit);
    ADD_FAILURE() << "the task was run again";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::worker_died);
    EXPECT_NE(std::string{e.what()}.find("SIGKILL"), std::string::npos) << e.what();
  }
  // Nobody holds the connection any more.
  EXPECT_EQ(read_line(client, limit), std::nullopt);
  ::close(client);
  // The pool goes on.
  EXPECT_EQ(p.apply(proctor::no_retry, plus_one, 41), 42);
}
