// Nodes: the test binary started with --proctor.join offers its cores to a
// master (a helper, see node_helpers.cpp); pools place workers on nodes; a
// killed, frozen or partitioned node costs no task; a node that loses its
// master stops its workers and, after --proctor.rejoin-for, exits.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "runtime/core/runtime_impl.hpp"
#include "runtime/node/node_requests.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::testing::children_of;
using proctor::testing::helper_argv;
using proctor::testing::netns_pair;
using proctor::testing::process_gone;
using proctor::testing::subprocess;

namespace {

constexpr auto limit = 60s;
const std::vector<std::string> key{"PROCTOR_AUTHKEY=nodes"};
const std::vector<std::string> fast{"--proctor.heartbeat-interval=50",
                                    "--proctor.dead-after=500"};

/// `fast`: heartbeats that find a frozen node within half a second, for the
/// tests that freeze or cut one off; the others keep the defaults, which a
/// loaded machine (a sanitizer build) cannot mistake for a death.
std::vector<std::string> master_argv(const std::string& where, int nodes,
                                     const std::string& mode, bool fast_heartbeats = true) {
  std::vector<std::string> args{where, std::to_string(nodes), mode};
  if (fast_heartbeats)
    args.insert(args.end(), fast.begin(), fast.end());
  return helper_argv("node_master", args);
}

std::vector<std::string> node_argv(const std::string& endpoint, int rejoin_ms = 1000,
                                   bool fast_heartbeats = true) {
  // The binary, without a helper: a node never reaches the tests.
  std::vector<std::string> argv{helper_argv("none").at(0), "--proctor.join=" + endpoint,
                                "--proctor.rejoin-for=" + std::to_string(rejoin_ms)};
  if (fast_heartbeats)
    argv.insert(argv.end(), fast.begin(), fast.end());
  return argv;
}

bool has_line(const subprocess& p, const std::string& line) {
  for (auto& l : p.out_lines())
    if (l == line)
      return true;
  return false;
}

bool wait_for_line(const subprocess& p, const std::string& line) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!has_line(p, line)) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// Runs the failover mode with two nodes and does `harm` to the first once
/// the map runs; checks that every result came, once and right.
void fails_over(const std::function<void(subprocess& victim)>& harm) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 2, "failover"), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  auto endpoint = master.out_lines().at(0);
  subprocess victim{node_argv(endpoint), key};
  subprocess survivor{node_argv(endpoint), key};
  ASSERT_TRUE(wait_for_line(master, "running")) << master.out() << master.err();
  harm(victim);
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err();
  EXPECT_TRUE(has_line(master, "results 300 wrong 0")) << master.out();
  EXPECT_NE(master.out().find(" dead"), std::string::npos) << master.out();
  ::kill(victim.pid(), SIGKILL);
}

} // namespace

TEST(nodes, a_node_joins_runs_pool_tasks_and_actors_and_stops_when_its_master_goes) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 1, "basic", false), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  subprocess node{node_argv(master.out_lines().at(0), 1000, false), key};
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err() << node.err();
  EXPECT_TRUE(has_line(master, "sum 328350")) << master.out();
  EXPECT_TRUE(has_line(master, "big frame_too_large")) << master.out();
  EXPECT_TRUE(has_line(master, "after 1")) << master.out();
  EXPECT_TRUE(has_line(master, "node block 9")) << master.out();
  EXPECT_TRUE(has_line(master, "master block no_such_block")) << master.out();
  EXPECT_TRUE(has_line(master, "actor 42")) << master.out();
  EXPECT_NE(master.out_lines().at(1).find(" alive"), std::string::npos) << master.out();
  // The master is gone: the node tries to rejoin for a second, and exits.
  EXPECT_EQ(node.wait(limit), 1) << node.err();
}

TEST(nodes, a_process_on_a_node_reports_its_exit_code_signals_and_sentinel) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 1, "process", false), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  subprocess node{node_argv(master.out_lines().at(0), 1000, false), key};
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err() << node.err();
  EXPECT_TRUE(has_line(master, "exitcode 7")) << master.out();
  EXPECT_TRUE(has_line(master, "queue 5")) << master.out();
  EXPECT_TRUE(has_line(master, "sentinel 1 exitcode -15")) << master.out();
  EXPECT_TRUE(has_line(master, "no node node_down")) << master.out();
}

TEST(nodes, a_process_on_a_lost_node_has_ended_as_killed) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 1, "lost", false), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  subprocess node{node_argv(master.out_lines().at(0), 1000, false), key};
  ASSERT_TRUE(wait_for_line(master, "started")) << master.out() << master.err();
  ::kill(node.pid(), SIGKILL);
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err();
  EXPECT_TRUE(has_line(master, "lost exitcode -9")) << master.out();
}

TEST(nodes, a_killed_node_costs_no_task) {
  fails_over([](subprocess& victim) { ::kill(victim.pid(), SIGKILL); });
}

TEST(nodes, a_frozen_node_is_declared_dead_and_costs_no_task) {
  fails_over([](subprocess& victim) { ::kill(victim.pid(), SIGSTOP); });
}

TEST(nodes, a_task_that_brings_down_every_node_it_reaches_fails_after_max_node_losses) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 3, "deadly", false), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  std::vector<std::unique_ptr<subprocess>> nodes;
  for (int i = 0; i < 3; ++i) {
    // Started with spawn, a node's workers are its children, and the task
    // kills its worker's parent: the node.
    auto argv = node_argv(master.out_lines().at(0), 1000, false);
    argv.push_back("--proctor.start-method=spawn");
    nodes.push_back(std::make_unique<subprocess>(argv, key));
  }
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err();
  auto lines = master.out_lines();
  ASSERT_EQ(lines.size(), 6u) << master.out(); // endpoint, three nodes, two outcomes
  EXPECT_EQ(lines[4].rfind("error node_down: ", 0), 0u) << lines[4];
  EXPECT_NE(lines[4].find("nodes lost: 2"), std::string::npos) << lines[4];
  EXPECT_EQ(lines[5].rfind("error node_down: ", 0), 0u) << lines[5];
  EXPECT_NE(lines[5].find("no_retry"), std::string::npos) << lines[5];
  // Every node went down with the task, none with anything else.
  for (auto& node : nodes)
    EXPECT_NE(node->wait(limit), 0);
}

TEST(nodes, a_node_with_a_wrong_key_exits_at_once) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 1, "basic", false), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  subprocess node{node_argv(master.out_lines().at(0), 1000, false), {"PROCTOR_AUTHKEY=wrong"}};
  EXPECT_EQ(node.wait(limit), 2) << node.err();
  EXPECT_NE(node.err().find("authentication_failed"), std::string::npos) << node.err();
}

TEST(nodes, a_partitioned_node_is_declared_dead_and_stops_its_workers) {
  if (auto why = netns_pair::unavailable(); !why.empty())
    GTEST_SKIP() << why;
  netns_pair hosts;
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  subprocess master{
    hosts.in(0, master_argv("tcp://" + hosts.address(0) + ":0", 2, "failover")), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  auto endpoint = master.out_lines().at(0);
  // The survivor lives next to the master; the victim on the other host.
  subprocess survivor{hosts.in(0, node_argv(endpoint)), key};
  // Started with spawn, its workers are its own children (not a fork
  // server's), for the test to find.
  auto victim_argv = node_argv(endpoint, 60000);
  victim_argv.push_back("--proctor.start-method=spawn");
  subprocess victim{hosts.in(1, victim_argv), key};
  ASSERT_TRUE(wait_for_line(master, "running")) << master.out() << master.err();
  auto workers = children_of(victim.pid());
  EXPECT_FALSE(workers.empty());
  ASSERT_TRUE(hosts.set_link(false));
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err();
  EXPECT_TRUE(has_line(master, "results 300 wrong 0")) << master.out();
  EXPECT_NE(master.out().find(" dead"), std::string::npos) << master.out();
  // Cut off from its master, the victim stops its workers while it tries to
  // join again: no orphan works on for a master that is gone.
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (auto pid : workers)
    while (!process_gone(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
  for (auto pid : workers)
    EXPECT_TRUE(process_gone(pid)) << pid;
  EXPECT_FALSE(process_gone(victim.pid()));
}

TEST(nodes, a_join_claiming_no_cores_or_impossibly_many_is_refused) {
  subprocess master{helper_argv("serve"), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  auto endpoint = master.out_lines().at(0);
  auto& rt = proctor::internal::impl_of(proctor::testing::test_runtime());
  auto keys = proctor::internal::derive_handshake_keys("nodes");
  auto join = [&](std::uint32_t cores) {
    return proctor::testing::error_of([&] {
      rt.ask_peer(endpoint, keys, proctor::internal::join_request{"host", cores, 1}, limit);
    });
  };
  EXPECT_EQ(join(0), proctor::errc::bad_argument);
  EXPECT_EQ(join(1u << 20), proctor::errc::bad_argument);
}

TEST(nodes, orders_and_exit_reports_from_a_peer_that_is_no_node_or_master_are_refused) {
  subprocess master{helper_argv("serve"), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  auto endpoint = master.out_lines().at(0);
  auto& rt = proctor::internal::impl_of(proctor::testing::test_runtime());
  auto keys = proctor::internal::derive_handshake_keys("nodes");
  // A member that never joined cannot end a process it does not run...
  EXPECT_EQ(proctor::testing::error_of([&] {
              rt.ask_peer(endpoint, keys, proctor::internal::exit_report{1, true, 9}, limit);
            }),
            proctor::errc::bad_argument);
  // ...nor order a runtime that is no node of its to run a task, start a
  // worker or signal one.
  proctor::internal::run_request order{1, "node_returns", "P", "", "MainProcess", false};
  EXPECT_EQ(proctor::testing::error_of([&] { rt.ask_peer(endpoint, keys, order, limit); }),
            proctor::errc::bad_argument);
  EXPECT_EQ(proctor::testing::error_of([&] {
              rt.ask_peer(endpoint, keys, proctor::internal::start_request{"node_adder", "A"},
                          limit);
            }),
            proctor::errc::bad_argument);
  EXPECT_EQ(proctor::testing::error_of([&] {
              rt.ask_peer(endpoint, keys,
                          proctor::internal::signal_request{static_cast<std::uint32_t>(::getpid()),
                                                            SIGKILL},
                          limit);
            }),
            proctor::errc::bad_argument);
}

TEST(nodes, a_supervised_child_on_a_node_is_restarted_there_and_names_cross_nodes) {
  subprocess master{master_argv("tcp://127.0.0.1:0", 1, "supervised", false), key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  subprocess node{node_argv(master.out_lines().at(0), 1000, false), key};
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err() << node.err();
  EXPECT_TRUE(has_line(master, "answer 101")) << master.out();
  EXPECT_TRUE(has_line(master, "again 101")) << master.out();
  EXPECT_TRUE(has_line(master, "self 5")) << master.out();
  EXPECT_TRUE(has_line(master, "sees 7")) << master.out();
}
