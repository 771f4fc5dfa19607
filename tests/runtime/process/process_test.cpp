#include "proctor/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::process;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

int returns_code(int code) {
  return code;
}
PROCTOR_TASK(returns_code);

void calls_exit(std::string, int code) {
  proctor::exit(code);
}
PROCTOR_TASK(calls_exit);

void sleeps_forever() {
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(sleeps_forever);

void throws_runtime_error(std::string what) {
  throw std::runtime_error(what);
}
PROCTOR_TASK(throws_runtime_error);

// Writes what the child sees into a file the test reads back.
void reports_identity(std::string path) {
  std::ofstream out{path};
  auto me = proctor::current_process();
  out << me.name << ' ' << me.pid << ' ' << proctor::parent_pid() << '\n';
}
PROCTOR_TASK(reports_identity);

int global_counter = 0;
int bumps_global(int expected_before) {
  int seen = global_counter;
  global_counter += 100;
  return seen == expected_before ? 0 : 3;
}
PROCTOR_TASK(bumps_global);

void not_registered(int) {
}

std::string scratch_file(const char* tag) {
  return "/tmp/proctor-test-" + std::to_string(::getpid()) + "-" + tag;
}

} // namespace

TEST(process, the_target_return_value_is_the_exit_code) {
  process p{test_runtime(), returns_code, 7};
  EXPECT_FALSE(p.exitcode());
  EXPECT_EQ(p.pid(), 0);
  p.start();
  EXPECT_GT(p.pid(), 0);
  ASSERT_TRUE(p.join(limit));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 7);
}

TEST(process, exit_12_gives_exitcode_12) {
  process p{test_runtime(), calls_exit, "Alice", 12};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 12);
}

TEST(process, terminate_gives_minus_15_and_kill_minus_9) {
  process a{test_runtime(), sleeps_forever};
  process b{test_runtime(), sleeps_forever};
  a.start();
  b.start();
  EXPECT_TRUE(a.is_alive());
  EXPECT_FALSE(a.join(50ms));
  EXPECT_FALSE(a.exitcode());
  a.terminate();
  b.kill();
  ASSERT_TRUE(a.join(limit));
  ASSERT_TRUE(b.join(limit));
  EXPECT_EQ(a.exitcode(), -15);
  EXPECT_EQ(b.exitcode(), -9);
  a.terminate(); // no effect on an ended process
  EXPECT_EQ(a.exitcode(), -15);
}

TEST(process, an_escaping_exception_gives_exit_code_1) {
  process p{test_runtime(), throws_runtime_error, "boom"};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 1);
}

TEST(process, names_pids_and_parent_pid) {
  auto path = scratch_file("identity");
  process p{test_runtime(), reports_identity, path};
  EXPECT_EQ(p.name().rfind("Process-", 0), 0u);
  p.name("reporter");
  p.start();
  ASSERT_TRUE(p.join(limit));
  ASSERT_EQ(p.exitcode(), 0);
  std::ifstream in{path};
  std::string name;
  int pid = 0;
  int ppid = 0;
  in >> name >> pid >> ppid;
  std::remove(path.c_str());
  EXPECT_EQ(name, "reporter");
  EXPECT_EQ(pid, p.pid());
  EXPECT_EQ(ppid, ::getpid());
  EXPECT_EQ(proctor::current_process().name, "MainProcess");
}

TEST(process, a_child_does_not_share_the_parents_globals) {
  global_counter = 5;
  process p{test_runtime(), bumps_global, 0};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0); // the child saw the initial value, not 5
  EXPECT_EQ(global_counter, 5);
}

TEST(process, an_unregistered_target_fails_at_the_call_site) {
  try {
    process p{test_runtime(), not_registered, 1};
    FAIL() << "expected unregistered_task";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::unregistered_task);
  }
}

TEST(process, calls_out_of_order_are_errors) {
  process p{test_runtime(), returns_code, 0};
  EXPECT_THROW(p.join(), proctor::error);
  p.start();
  EXPECT_THROW(p.start(), proctor::error);
  EXPECT_THROW(p.name("late"), proctor::error);
  ASSERT_TRUE(p.join(limit));
}

TEST(process, several_processes_run_at_once) {
  std::vector<process> ps;
  for (int i = 0; i < 4; ++i)
    ps.emplace_back(test_runtime(), returns_code, i);
  for (auto& p : ps)
    p.start();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ps[i].join(limit));
    EXPECT_EQ(ps[i].exitcode(), i);
  }
}

TEST(process, helpers_report_the_machine) {
  EXPECT_GE(proctor::cpu_count(), 1);
  EXPECT_EQ(proctor::current_process().pid, ::getpid());
}

namespace {

caf::behavior adds_to(caf::event_based_actor*, int n) {
  return {[n](int x) { return x + n; }};
}

// Asks the actor it was given and returns the answer as its exit code.
int asks_the_actor(caf::actor adder, int x) {
  caf::scoped_actor self{proctor::runtime::current().system()};
  int answer = -1;
  self->request(adder, std::chrono::seconds{30}, x)
    .receive([&](int y) { answer = y; }, [](caf::error&) {});
  return answer;
}
PROCTOR_TASK(asks_the_actor);

} // namespace

TEST(process, an_actor_handle_is_a_valid_argument) {
  auto& rt = test_runtime();
  auto adder = rt.system().spawn(adds_to, 1);
  process p{rt, asks_the_actor, adder, 41};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 42);
  caf::anon_send_exit(adder, caf::exit_reason::user_shutdown);
}
