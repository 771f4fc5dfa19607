// Failure detection on links between runtimes: a frozen peer (SIGSTOP, its
// TCP connection still up) and a partition (the link between two hosts
// down) are declared dead by heartbeats; an idle but live link is not.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "tests/support/netns.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::testing::helper_argv;
using proctor::testing::netns_pair;
using proctor::testing::subprocess;

namespace {

constexpr auto limit = 30s;
const std::vector<std::string> key{"PROCTOR_AUTHKEY=heartbeats"};
const std::vector<std::string> fast{"--proctor.heartbeat-interval=50",
                                    "--proctor.dead-after=500"};

std::vector<std::string> watch(const std::string& endpoint) {
  std::vector<std::string> args{endpoint, "idle"};
  args.insert(args.end(), fast.begin(), fast.end());
  return helper_argv("watch", args);
}

} // namespace

TEST(heartbeat, a_frozen_peer_is_declared_dead) {
  subprocess server{helper_argv("serve"), key};
  ASSERT_TRUE(server.wait_for_lines(1, limit)) << server.err();
  subprocess watcher{watch(server.out_lines().at(0)), key};
  ASSERT_TRUE(watcher.wait_for_lines(1, limit)) << watcher.out() << watcher.err();
  ASSERT_EQ(watcher.out_lines().at(0), "linked");
  ::kill(server.pid(), SIGSTOP);
  EXPECT_EQ(watcher.wait(limit), 0) << watcher.out() << watcher.err();
  ::kill(server.pid(), SIGCONT);
  ASSERT_EQ(watcher.out_lines().size(), 2u) << watcher.out();
  EXPECT_NE(watcher.out_lines().at(1).find("peer_unresponsive"), std::string::npos)
    << watcher.out();
}

TEST(heartbeat, an_idle_link_between_live_peers_stays_up) {
  // The server keeps its defaults (a heartbeat a second); the watcher waits
  // for three of those, not its own dead-after, and so keeps the link.
  subprocess server{helper_argv("serve"), key};
  ASSERT_TRUE(server.wait_for_lines(1, limit)) << server.err();
  subprocess watcher{watch(server.out_lines().at(0)), key};
  ASSERT_TRUE(watcher.wait_for_lines(1, limit)) << watcher.out() << watcher.err();
  // Idle for four of the watcher's dead-after times.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(watcher.out_lines().size(), 1u) << watcher.out();
  ::kill(server.pid(), SIGKILL);
  EXPECT_EQ(watcher.wait(limit), 0) << watcher.out() << watcher.err();
  ASSERT_EQ(watcher.out_lines().size(), 2u) << watcher.out();
  EXPECT_NE(watcher.out_lines().at(1).find("connection_closed"), std::string::npos)
    << watcher.out();
}

TEST(heartbeat, a_partition_between_two_hosts_is_declared_dead) {
  if (auto why = netns_pair::unavailable(); !why.empty())
    GTEST_SKIP() << why;
  netns_pair hosts;
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  subprocess server{hosts.in(0, helper_argv("serve", {"tcp://" + hosts.address(0) + ":0"})),
                    key};
  ASSERT_TRUE(server.wait_for_lines(1, limit)) << server.err();
  subprocess watcher{hosts.in(1, watch(server.out_lines().at(0))), key};
  ASSERT_TRUE(watcher.wait_for_lines(1, limit)) << watcher.out() << watcher.err();
  ASSERT_EQ(watcher.out_lines().at(0), "linked");
  ASSERT_TRUE(hosts.set_link(false));
  EXPECT_EQ(watcher.wait(limit), 0) << watcher.out() << watcher.err();
  ASSERT_EQ(watcher.out_lines().size(), 2u) << watcher.out();
  EXPECT_NE(watcher.out_lines().at(1).find("peer_unresponsive"), std::string::npos)
    << watcher.out();
}
