// CPython's Lib/test/_test_multiprocessing.py, _TestProcess, written anew
// for proctor::process. Each test is named after the case it follows.
#include "proctor/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include "proctor/queue.hpp"
#include "runtime/process/forkserver.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::process;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path()
          / (name + "." + std::to_string(::getpid())))
    .string();
}

void parity_reports(proctor::queue<std::string> q, int x, std::string s) {
  auto me = proctor::current_process();
  q.put(me.name + " " + std::to_string(x) + " " + s);
}
PROCTOR_TASK(parity_reports);

void parity_reports_parent(proctor::queue<std::string> q) {
  auto parent = proctor::parent_process();
  q.put(parent ? parent->name + " " + std::to_string(parent->pid) : std::string{"none"});
}
PROCTOR_TASK(parity_reports_parent);

void parity_sleeps(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
}
PROCTOR_TASK(parity_sleeps);

// test_recursion: a child starts children of its own, two levels deep.
int parity_recurses(int depth) {
  if (depth == 0)
    return 0;
  process a{proctor::runtime::current(), parity_recurses, depth - 1};
  process b{proctor::runtime::current(), parity_recurses, depth - 1};
  a.start();
  b.start();
  a.join();
  b.join();
  return 10 + *a.exitcode() + *b.exitcode();
}
PROCTOR_TASK(parity_recurses);

// Registers an exit handler that writes `path`, then ends as `how` says.
int parity_registers_atexit(std::string path, std::string how) {
  proctor::at_exit([path] { std::ofstream{path} << "ran\n"; });
  proctor::at_exit([] { throw std::runtime_error("a failing handler"); }); // runs first
  if (how == "throw")
    throw std::runtime_error("the target failed");
  if (how == "exit")
    proctor::exit(4);
  if (how == "kill")
    ::raise(SIGKILL);
  return 3;
}
PROCTOR_TASK(parity_registers_atexit);

// Whether SIGINT has its default action in a worker.
int parity_sigint_is_default() {
  struct sigaction current {};
  ::sigaction(SIGINT, nullptr, &current);
  return current.sa_handler == SIG_DFL ? 0 : 1;
}
PROCTOR_TASK(parity_sigint_is_default);

/// The fork server among our children, by its process name; -1 if none.
pid_t forkserver_pid() {
  for (auto pid : proctor::testing::children_of(::getpid())) {
    std::ifstream comm{"/proc/" + std::to_string(pid) + "/comm"};
    std::string name;
    std::getline(comm, name);
    if (name == proctor::internal::forkserver_process_name)
      return pid;
  }
  return -1;
}

} // namespace

// test_current: the master is MainProcess.
TEST(python_parity, Process_current) {
  auto me = proctor::current_process();
  EXPECT_EQ(me.name, "MainProcess");
  EXPECT_EQ(me.pid, static_cast<int>(::getpid()));
}

// test_args_argument and test_process: arguments arrive; name, pid,
// is_alive and exitcode follow the process's life.
TEST(python_parity, Process_process) {
  proctor::queue<std::string> q{test_runtime()};
  process p{test_runtime(), parity_reports, q, 42, std::string{"xyz"}};
  p.name("Child1");
  EXPECT_FALSE(p.is_alive());
  EXPECT_FALSE(p.exitcode().has_value());
  EXPECT_EQ(p.pid(), 0);
  p.start();
  EXPECT_EQ(q.get(limit), "Child1 42 xyz");
  ASSERT_TRUE(p.join(limit));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_GT(p.pid(), 0);
}

TEST(python_parity, Process_terminate) {
  process p{test_runtime(), parity_sleeps, 100000};
  p.daemon(true);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.join(10ms));
  p.terminate();
  ASSERT_TRUE(p.join(limit));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(python_parity, Process_kill) {
  process p{test_runtime(), parity_sleeps, 100000};
  p.start();
  p.kill();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(python_parity, Process_cpu_count) {
  EXPECT_GE(proctor::cpu_count(), 1);
}

TEST(python_parity, Process_recursion) {
  process p{test_runtime(), parity_recurses, 2};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 30); // 10 + 2 * (10 + 0 + 0)
}

TEST(python_parity, Process_many_processes) {
  std::vector<std::unique_ptr<process>> procs;
  for (int i = 0; i < 20; ++i) {
    procs.push_back(std::make_unique<process>(test_runtime(), parity_sleeps, 10));
    procs.back()->start();
  }
  for (auto& p : procs) {
    ASSERT_TRUE(p->join(limit));
    EXPECT_EQ(p->exitcode(), 0);
  }
  // And again with terminate(): every one reports the signal.
  procs.clear();
  for (int i = 0; i < 20; ++i) {
    procs.push_back(std::make_unique<process>(test_runtime(), parity_sleeps, 100000));
    procs.back()->start();
  }
  for (auto& p : procs)
    p->terminate();
  for (auto& p : procs) {
    ASSERT_TRUE(p->join(limit));
    EXPECT_EQ(p->exitcode(), -SIGTERM);
  }
}

// test_forkserver_sigint: Ctrl-C reaches the whole process group; the fork
// server ignores it and keeps serving, and its workers get SIGINT's default
// action back.
TEST(python_parity, Process_forkserver_sigint) {
  process warm{test_runtime(), parity_sleeps, 0};
  warm.start();
  ASSERT_TRUE(warm.join(limit));
  auto server = forkserver_pid();
  ASSERT_GT(server, 0) << "no fork server among the children";
  ASSERT_EQ(::kill(server, SIGINT), 0);
  // This start goes through the server after the signal reached it.
  process p{test_runtime(), parity_sigint_is_default};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(proctor::testing::process_gone(server));
  EXPECT_EQ(forkserver_pid(), server);
}

// test_forkserver_sigkill: a fork server that was killed is replaced.
TEST(python_parity, Process_forkserver_sigkill) {
  process warm{test_runtime(), parity_sleeps, 0};
  warm.start();
  ASSERT_TRUE(warm.join(limit));
  auto server = forkserver_pid();
  ASSERT_GT(server, 0);
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  for (int i = 0; i < 1000 && !proctor::testing::process_gone(server); ++i)
    std::this_thread::sleep_for(5ms);
  process p{test_runtime(), parity_sleeps, 0};
  p.start();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
  auto replacement = forkserver_pid();
  EXPECT_GT(replacement, 0);
  EXPECT_NE(replacement, server);
}

// Python runs a child's exit handlers when its target returns or raises,
// or at sys.exit; a killed child runs none. A handler that throws does not
// keep the others from running.
TEST(python_parity, Process_exit_handlers_run_on_return) {
  for (std::string how : {"return", "throw", "exit", "kill"}) {
    auto path = scratch("atexit-" + how);
    std::filesystem::remove(path);
    process p{test_runtime(), parity_registers_atexit, path, how};
    p.start();
    ASSERT_TRUE(p.join(limit)) << how;
    auto expected = how == "return" ? 3 : how == "throw" ? 1 : how == "exit" ? 4 : -SIGKILL;
    EXPECT_EQ(p.exitcode(), expected) << how;
    EXPECT_EQ(std::filesystem::exists(path), how != "kill") << how;
    std::filesystem::remove(path);
  }
}

// test_active_children: a started process is listed until it has ended.
TEST(python_parity, Process_active_children) {
  process p{test_runtime(), parity_sleeps, 100000};
  p.name("listed-child");
  auto listed = [&] {
    for (auto& child : proctor::active_children())
      if (child.pid == p.pid() && child.name == "listed-child")
        return true;
    return false;
  };
  EXPECT_FALSE(listed());
  p.start();
  EXPECT_TRUE(listed());
  p.terminate();
  ASSERT_TRUE(p.join(limit));
  EXPECT_FALSE(listed());
}

// test_sentinel: readable exactly once the process has ended.
TEST(python_parity, Process_sentinel) {
  process p{test_runtime(), parity_sleeps, 100000};
  EXPECT_EQ(proctor::testing::error_of([&] { p.sentinel(); }), proctor::errc::invalid_state);
  p.start();
  int fd = p.sentinel();
  pollfd watch{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&watch, 1, 0), 0);
  p.kill();
  ASSERT_EQ(::poll(&watch, 1, 30000), 1);
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.sentinel(), fd);
}

// test_close: a running process cannot be closed; a closed one refuses
// every call but pid().
TEST(python_parity, Process_close) {
  process p{test_runtime(), parity_sleeps, 100000};
  p.start();
  EXPECT_EQ(proctor::testing::error_of([&] { p.close(); }), proctor::errc::invalid_state);
  p.terminate();
  ASSERT_TRUE(p.join(limit));
  int pid = p.pid();
  p.close();
  p.close(); // again: no effect
  using proctor::errc;
  using proctor::testing::error_of;
  EXPECT_EQ(error_of([&] { p.is_alive(); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { p.join(); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { p.exitcode(); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { p.sentinel(); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { p.start(); }), errc::invalid_state);
  EXPECT_EQ(p.pid(), pid);
}

// test_parent_process_attributes: none in the master; the parent's name and
// pid in a child.
TEST(python_parity, Process_parent_process) {
  EXPECT_FALSE(proctor::parent_process().has_value());
  proctor::queue<std::string> q{test_runtime()};
  process p{test_runtime(), parity_reports_parent, q};
  p.start();
  EXPECT_EQ(q.get(limit), "MainProcess " + std::to_string(::getpid()));
  ASSERT_TRUE(p.join(limit));
}
