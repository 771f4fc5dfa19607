// Runtimes that did not start each other: listen, publish, remote_actor, over
// TCP and Unix sockets, and what their failures look like.
#include "proctor/runtime.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/process.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::process;
using proctor::testing::subprocess;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// Takes an argument: CAF 0.17 spawns a function without arguments through a
// null shared_ptr (UBSan rejects it).
caf::behavior adds(caf::event_based_actor*, int n) {
  return {[n](int x) { return x + n; }};
}

// Publishes adds_one as "adder", listens on `where`, writes the bound
// endpoint to DIR/endpoint, then serves until killed.
void serves_adder(std::string where, std::string dir) {
  auto& rt = proctor::runtime::current();
  rt.publish(rt.system().spawn(adds, 1), "adder");
  auto bound = rt.listen(where);
  std::ofstream{dir + "/endpoint.tmp"} << bound;
  std::filesystem::rename(dir + "/endpoint.tmp", dir + "/endpoint");
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(serves_adder);

std::string wait_for_endpoint(const std::string& dir) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!std::filesystem::exists(dir + "/endpoint")) {
    if (std::chrono::steady_clock::now() > deadline)
      return {};
    std::this_thread::sleep_for(10ms);
  }
  std::ifstream in{dir + "/endpoint"};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// A process serving adder on `where`, and the endpoint it bound.
struct server {
  std::string dir = proctor::testing::make_temp_dir();
  process proc;
  std::string endpoint;

  explicit server(const std::string& where)
    : proc(test_runtime(), serves_adder, where == "unix" ? "unix:" + dir + "/sock" : where,
           dir) {
    proc.start();
    endpoint = wait_for_endpoint(dir);
  }

  ~server() {
    proc.kill();
    proc.join(limit);
    std::filesystem::remove_all(dir);
  }
};

void talks_then_sees_the_server_die(server& s) {
  ASSERT_FALSE(s.endpoint.empty());
  auto& rt = test_runtime();
  auto adder = rt.remote_actor(s.endpoint, "adder");
  caf::scoped_actor self{rt.system()};
  int answer = 0;
  self->request(adder, limit, 41).receive([&](int x) { answer = x; },
                                          [&](caf::error&) {});
  EXPECT_EQ(answer, 42);
  // The same endpoint again shares the link and gives the same actor.
  EXPECT_EQ(rt.remote_actor(s.endpoint, "adder"), adder);
  self->monitor(adder);
  s.proc.kill();
  bool down = false;
  self->receive([&](caf::down_msg& msg) { down = msg.source == adder.address(); },
                caf::after(limit) >> [] {});
  EXPECT_TRUE(down);
  bool failed = false;
  self->request(adder, limit, 1).receive([](int) {}, [&](caf::error&) { failed = true; });
  EXPECT_TRUE(failed);
}

} // namespace

TEST(peer, remote_actor_over_tcp) {
  server s{"tcp://127.0.0.1:0"};
  EXPECT_TRUE(s.endpoint.starts_with("tcp://127.0.0.1:")) << s.endpoint;
  EXPECT_NE(s.endpoint, "tcp://127.0.0.1:0");
  talks_then_sees_the_server_die(s);
}

TEST(peer, remote_actor_over_tcp_v6) {
  server s{"tcp://[::1]:0"};
  if (s.endpoint.empty())
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  talks_then_sees_the_server_die(s);
}

TEST(peer, remote_actor_over_a_unix_socket) {
  server s{"unix"};
  talks_then_sees_the_server_die(s);
}

TEST(peer, an_unpublished_name_is_a_clear_error) {
  server s{"tcp://127.0.0.1:0"};
  ASSERT_FALSE(s.endpoint.empty());
  EXPECT_EQ(error_of([&] { test_runtime().remote_actor(s.endpoint, "nobody"); }),
            proctor::errc::not_published);
  // The link stays usable.
  EXPECT_TRUE(test_runtime().remote_actor(s.endpoint, "adder"));
}

TEST(peer, bad_endpoints_are_clear_errors) {
  auto& rt = test_runtime();
  EXPECT_EQ(error_of([&] { rt.remote_actor("tcp://nohost", "x"); }),
            proctor::errc::invalid_endpoint);
  EXPECT_EQ(error_of([&] { rt.listen("udp://127.0.0.1:1"); }),
            proctor::errc::invalid_endpoint);
  auto dir = proctor::testing::make_temp_dir();
  EXPECT_EQ(error_of([&] { rt.remote_actor("unix:" + dir + "/nobody-here", "x"); }),
            proctor::errc::connect_failed);
  auto bound = rt.listen("unix:" + dir + "/taken");
  EXPECT_EQ(error_of([&] { rt.listen(bound); }), proctor::errc::connect_failed);
  std::filesystem::remove_all(dir);
}

TEST(peer, a_wrong_key_is_refused_and_the_server_goes_on) {
  server s{"tcp://127.0.0.1:0"};
  ASSERT_FALSE(s.endpoint.empty());
  subprocess intruder{proctor::testing::helper_argv("connect", {s.endpoint, "adder"}),
                      {"PROCTOR_AUTHKEY=not-the-key"}};
  EXPECT_EQ(intruder.wait(limit), 3) << intruder.err();
  auto out = intruder.out();
  EXPECT_TRUE(out == "error authentication_failed\n" || out == "error peer_refused\n")
    << out << intruder.err();
  EXPECT_TRUE(test_runtime().remote_actor(s.endpoint, "adder"));
}
