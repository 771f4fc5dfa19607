// The Manager: typed handles served by name to other programs, checked at
// the call; what a wrong key, a wrong type, a shutdown and a killed server
// look like to the client.
#include "proctor/manager.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <future>
#include <set>
#include <thread>

#include "proctor/process.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::dict;
using proctor::errc;
using proctor::manager;
using proctor::manager_client;
using proctor::queue;
using proctor::value;
using proctor::testing::error_of;
using proctor::testing::helper_argv;
using proctor::testing::subprocess;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;
const std::string key = "abc";

/// A manager_server helper and the address it serves on.
struct served {
  subprocess server{helper_argv("manager_server"), {"PROCTOR_AUTHKEY=" + key}};
  std::string address;

  served() {
    if (server.wait_for_lines(1, limit))
      address = server.out_lines().at(0);
  }
};

manager_client connect(const std::string& address, const std::string& with = key) {
  return manager_client{test_runtime(), address, {.authkey = with}, limit};
}

} // namespace

TEST(manager, the_seeds_task_master_and_two_task_workers_share_its_queues) {
  served s;
  ASSERT_FALSE(s.address.empty()) << s.server.err();
  auto client = connect(s.address);
  auto tasks = client.get<queue<int>>("tasks");
  auto results = client.get<queue<std::string>>("results");
  subprocess first{helper_argv("manager_worker", {s.address, key})};
  subprocess second{helper_argv("manager_worker", {s.address, key})};
  constexpr int n = 40;
  for (int i = 0; i < n; ++i)
    tasks.put(i);
  tasks.put(-1);
  tasks.put(-1);
  std::set<std::string> got;
  for (int i = 0; i < n; ++i)
    got.insert(results.get(limit));
  EXPECT_EQ(got.size(), std::size_t{n});
  EXPECT_TRUE(got.contains("7 * 7 = 49"));
  EXPECT_EQ(first.wait(limit), 0) << first.err();
  EXPECT_EQ(second.wait(limit), 0) << second.err();
  EXPECT_EQ(client.get<value<int>>("hits").get(), n);
  auto counts = client.get<dict<std::string, int>>("counts");
  EXPECT_EQ(counts.get("even"), n / 2);
  EXPECT_EQ(counts.get("odd"), n / 2);
}

TEST(manager, a_client_gets_every_kind_of_handle_by_name_and_uses_it) {
  served s;
  ASSERT_FALSE(s.address.empty()) << s.server.err();
  auto client = connect(s.address);
  auto names = client.names();
  EXPECT_EQ(names.size(), 7u);
  EXPECT_NE(std::find(names.begin(), names.end(),
                      std::pair<std::string, std::string>{"hits", "value<int>"}),
            names.end());
  auto tasks = client.get<queue<int>>("tasks");
  tasks.put(5);
  EXPECT_EQ(tasks.get(limit), 5);
  auto jobs = client.get<proctor::joinable_queue<int>>("jobs");
  jobs.put(1);
  EXPECT_EQ(jobs.get(limit), 1);
  jobs.task_done();
  EXPECT_TRUE(jobs.join(limit));
  auto counts = client.get<dict<std::string, int>>("counts");
  counts.set("a", 1);
  EXPECT_EQ(counts.update("a", [](std::optional<int> c) { return c.value_or(0) + 10; }), 11);
  EXPECT_EQ(counts.items(), (std::vector<std::pair<std::string, int>>{{"a", 11}}));
  auto hits = client.get<value<int>>("hits");
  EXPECT_TRUE(hits.compare_and_set(0, 3));
  EXPECT_FALSE(hits.compare_and_set(0, 4));
  EXPECT_EQ(hits.get(), 3);
  auto lock = client.get<proctor::process_lock>("lock");
  EXPECT_TRUE(lock.acquire(false));
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  // A second client sees what the first did: the objects are the server's.
  auto other = connect(s.address);
  EXPECT_EQ(other.get<value<int>>("hits").get(), 3);
}

TEST(manager, a_wrong_key_is_refused_and_a_plain_endpoint_is_not_a_manager) {
  served s;
  ASSERT_FALSE(s.address.empty()) << s.server.err();
  EXPECT_EQ(error_of([&] { connect(s.address, "wrong"); }), errc::authentication_failed);
  // The server still serves a client with the key.
  EXPECT_EQ(connect(s.address).names().size(), 7u);

  subprocess plain{helper_argv("serve"), {"PROCTOR_AUTHKEY=" + key}};
  ASSERT_TRUE(plain.wait_for_lines(1, limit)) << plain.err();
  EXPECT_EQ(error_of([&] { connect(plain.out_lines().at(0)); }), errc::not_published);
}

TEST(manager, another_type_is_type_mismatch_and_an_unknown_name_not_published) {
  served s;
  ASSERT_FALSE(s.address.empty()) << s.server.err();
  auto client = connect(s.address);
  try {
    client.get<queue<std::string>>("tasks");
    ADD_FAILURE() << "a queue<int> was opened as a queue<std::string>";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), errc::type_mismatch);
    EXPECT_NE(std::string{e.what()}.find("queue<int>"), std::string::npos) << e.what();
  }
  EXPECT_EQ(error_of([&] { client.get<value<long>>("hits"); }), errc::type_mismatch);
  EXPECT_EQ(error_of([&] { client.get<dict<int, int>>("counts"); }), errc::type_mismatch);
  EXPECT_EQ(error_of([&] { client.get<proctor::process_event>("lock"); }), errc::type_mismatch);
  EXPECT_EQ(error_of([&] { client.get<queue<int>>("nothing"); }), errc::not_published);
  // The connection still works.
  EXPECT_EQ(client.get<value<int>>("hits").get(), 0);
}

TEST(manager, after_shutdown_pending_and_later_calls_fail_with_owner_gone) {
  served s;
  ASSERT_FALSE(s.address.empty()) << s.server.err();
  auto client = connect(s.address);
  auto tasks = client.get<queue<int>>("tasks");
  auto hits = client.get<value<int>>("hits");
  auto pending = std::async(std::launch::async, [&] { return error_of([&] { tasks.get(); }); });
  // Let the get reach the queue, then stop the manager.
  EXPECT_EQ(hits.get(), 0);
  // The reply to set() may lose the race with the shutdown it causes.
  auto stop = client.get<proctor::process_event>("stop");
  auto set = error_of([&] { stop.set(); });
  EXPECT_TRUE(set == errc::ok || set == errc::owner_gone) << proctor::to_string(set);
  ASSERT_EQ(pending.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(pending.get(), errc::owner_gone);
  EXPECT_EQ(error_of([&] { tasks.put(1); }), errc::owner_gone);
  EXPECT_EQ(error_of([&] { hits.get(); }), errc::owner_gone);
  EXPECT_EQ(error_of([&] { client.get<value<int>>("hits"); }), errc::owner_gone);
  ASSERT_TRUE(s.server.wait_for_lines(2, limit));
  EXPECT_EQ(s.server.out_lines().at(1), "shut down");
  // A new client is not accepted any more.
  EXPECT_EQ(error_of([&] { connect(s.address); }), errc::connect_failed);
}

TEST(manager, a_killed_server_fails_pending_and_later_calls_with_owner_gone) {
  served s;
  ASSERT_FALSE(s.address.empty()) << s.server.err();
  auto client = connect(s.address);
  auto tasks = client.get<queue<int>>("tasks");
  auto counts = client.get<dict<std::string, int>>("counts");
  auto pending = std::async(std::launch::async, [&] { return error_of([&] { tasks.get(); }); });
  EXPECT_EQ(counts.size(), 0u);
  ::kill(s.server.pid(), SIGKILL);
  ASSERT_EQ(pending.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(pending.get(), errc::owner_gone);
  EXPECT_EQ(error_of([&] { counts.set("a", 1); }), errc::owner_gone);
  EXPECT_EQ(error_of([&] { client.names(); }), errc::owner_gone);
}

namespace {

int worker_opens_the_managers_objects(std::string address) {
  proctor::manager_client client{proctor::runtime::current(), address};
  client.get<queue<std::string>>("results").put("from a worker");
  return 0;
}
PROCTOR_TASK(worker_opens_the_managers_objects);

} // namespace

TEST(manager, a_worker_of_the_serving_process_opens_its_objects_through_its_link) {
  auto& rt = test_runtime();
  manager m{rt, "tcp://127.0.0.1:0"};
  queue<std::string> results{rt};
  m.serve("results", results);
  proctor::process p{rt, worker_opens_the_managers_objects, m.address()};
  p.start();
  EXPECT_EQ(results.get(limit), "from a worker");
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(manager, an_endpoint_already_taken_is_connect_failed_and_an_invalid_one_invalid_endpoint) {
  auto& rt = test_runtime();
  manager first{rt, "tcp://127.0.0.1:0"};
  EXPECT_EQ(error_of([&] { manager second(rt, first.address()); }), errc::connect_failed);
  EXPECT_EQ(error_of([&] { manager third(rt, "nowhere"); }), errc::invalid_endpoint);
  EXPECT_EQ(error_of([&] { manager_client(rt, "nowhere"); }), errc::invalid_endpoint);
}
