// CPython's Lib/test/_test_multiprocessing.py, _TestListener and
// _TestListenerClient, written anew for proctor::listener and
// proctor::client; and what a peer without the key can make a listener do.
#include "proctor/listener.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proctor/process.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// _TestListenerClient._test: connects, sends, and echoes one reply back.
void parity_client(std::string address) {
  auto conn = proctor::client<std::string>(proctor::runtime::current(), address);
  conn.send("hello");
  conn.send(conn.recv() + " back");
}
PROCTOR_TASK(parity_client);

std::string socket_path(const std::string& name) {
  return (std::filesystem::temp_directory_path()
          / ("proctor-" + name + "-" + std::to_string(::getpid()) + ".sock"))
    .string();
}

/// A raw Unix-socket connection to a unix: endpoint, for hand-made bytes.
int raw_connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void round_trip(proctor::listener<std::string>& l) {
  process child{test_runtime(), parity_client, l.address()};
  child.start();
  auto conn = l.accept(limit);
  EXPECT_EQ(conn.recv(limit), "hello");
  conn.send("welcome");
  EXPECT_EQ(conn.recv(limit), "welcome back");
  ASSERT_TRUE(child.join(limit));
  EXPECT_EQ(child.exitcode(), 0);
}

} // namespace

// test_listener_client over a Unix socket path and over TCP.
TEST(python_parity, ListenerClient_listener_client) {
  auto path = socket_path("listener");
  proctor::listener<std::string> local{test_runtime(), "unix:" + path};
  round_trip(local);
  proctor::listener<std::string> tcp{test_runtime(), "tcp://127.0.0.1:0"};
  EXPECT_EQ(tcp.address().rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_NE(tcp.address(), "tcp://127.0.0.1:0");
  round_trip(tcp);
}

// test_multiple_bind: a second listener on a bound address fails.
TEST(python_parity, Listener_multiple_bind) {
  auto path = socket_path("bind");
  proctor::listener<int> first{test_runtime(), "unix:" + path};
  EXPECT_NE(error_of([&] { proctor::listener<int> second{test_runtime(), "unix:" + path}; }),
            errc::ok);
  EXPECT_EQ(error_of([] { proctor::listener<int> bad{test_runtime(), "nowhere"}; }),
            errc::invalid_endpoint);
}

// accept(timeout) with nobody connecting; client() to nobody.
TEST(python_parity, Listener_accept_timeout_and_nobody_listening) {
  proctor::listener<int> l{test_runtime(), "tcp://127.0.0.1:0"};
  EXPECT_THROW(l.accept(20ms), proctor::timeout_error);
  auto address = l.address();
  l.close();
  EXPECT_EQ(error_of([&] { l.accept(20ms); }), errc::closed);
  EXPECT_EQ(error_of([&] { proctor::client<int>(test_runtime(), address, std::nullopt, 2s); }),
            errc::connect_failed);
}

// Python's AuthenticationError: a client with another key fails, and so
// does the accept() that met it; the listener then serves a rightful client.
TEST(python_parity, ListenerClient_wrong_authkey) {
  proctor::listener<std::string> l{test_runtime(), "unix:" + socket_path("auth")};
  std::thread intruder{[&] {
    EXPECT_EQ(error_of([&] {
                proctor::client<std::string>(test_runtime(), l.address(),
                                             std::string{"not the key"}, limit);
              }),
              errc::authentication_failed);
  }};
  EXPECT_EQ(error_of([&] { l.accept(limit); }), errc::authentication_failed);
  intruder.join();
  round_trip(l);
}

// Both sides given the same explicit key: it works without the runtime's.
TEST(python_parity, ListenerClient_explicit_authkey) {
  proctor::listener<int> l{test_runtime(), "tcp://127.0.0.1:0", std::string{"shared secret"}};
  std::thread client{[&] {
    auto conn = proctor::client<int>(test_runtime(), l.address(), std::string{"shared secret"});
    conn.send(41);
  }};
  auto conn = l.accept(limit);
  EXPECT_EQ(conn.recv(limit), 41);
  client.join();
}

// A peer that sends garbage, or opens a runtime link instead of a pipe, or
// says nothing, gets nothing: accept() reports it, and the listener goes on.
TEST(python_parity, Listener_peers_without_the_key_get_nothing) {
  auto path = socket_path("garbage");
  proctor::listener<std::string> l{test_runtime(), "unix:" + path};
  int junk = raw_connect(path);
  ASSERT_GE(junk, 0);
  const char bytes[] = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(::write(junk, bytes, sizeof bytes), static_cast<ssize_t>(sizeof bytes));
  EXPECT_NE(error_of([&] { l.accept(limit); }), errc::ok);
  ::close(junk);
  int silent = raw_connect(path);
  ASSERT_GE(silent, 0);
  ::shutdown(silent, SHUT_WR); // says nothing, then hangs up
  EXPECT_EQ(error_of([&] { l.accept(limit); }), errc::connection_closed);
  ::close(silent);
  round_trip(l);
}

// A runtime's listen() endpoint is not a pipe listener: a client is refused.
TEST(python_parity, Client_refuses_a_runtime_link) {
  auto address = test_runtime().listen("tcp://127.0.0.1:0");
  EXPECT_NE(error_of([&] { proctor::client<int>(test_runtime(), address, std::nullopt, limit); }),
            errc::ok);
}
