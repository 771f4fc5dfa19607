// Every example runs to the end and prints what its seed program prints.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>

#include "tests/support/netns.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::testing::subprocess;

namespace {

struct transcript {
  std::optional<int> exitcode;
  std::string out;
  std::string err;
};

transcript run_example(const std::string& name) {
  subprocess program{{std::string{PROCTOR_EXAMPLES_DIR} + "/" + name}};
  transcript result;
  result.exitcode = program.wait(60s);
  result.out = program.out();
  result.err = program.err();
  return result;
}

bool has(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex{pattern});
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

TEST(examples, demo) {
  auto t = run_example("demo");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(has(t.out, "Process-" + std::to_string(i) + " \\(pid \\d+\\) squares "
                             + std::to_string(i)))
      << t.out;
    EXPECT_TRUE(has(t.out, "Process-" + std::to_string(i) + " exited with code "
                             + std::to_string(i * i)))
      << t.out;
  }
  EXPECT_TRUE(has(t.out, "hello master from pid \\d+")) << t.out;
}

TEST(examples, process_basic) {
  auto t = run_example("process_basic");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(t.out, m, std::regex{"Parent process (\\d+)\\."})) << t.out;
  EXPECT_TRUE(has(t.out, "Child process will start\\.\\nRun child process test \\(\\d+\\) "
                         "and parent process is \\("
                           + m[1].str() + "\\)\\.\\nChild process end\\."))
    << t.out;
}

TEST(examples, process_many) {
  auto t = run_example("process_many");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  std::regex square{"3 squared is 9"};
  auto squares =
    std::distance(std::sregex_iterator(t.out.begin(), t.out.end(), square), std::sregex_iterator());
  EXPECT_EQ(squares, 4) << t.out;
  EXPECT_TRUE(has(t.out, "Execute time \\d+ ms")) << t.out;
}

TEST(examples, process_exitcode) {
  auto t = run_example("process_exitcode");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "My name is Alice and my age is 18")) << t.out;
  EXPECT_TRUE(has(t.out, "exitcode 12")) << t.out;
  EXPECT_TRUE(has(t.out, "alive: true")) << t.out;
  EXPECT_TRUE(has(t.out, "alive after terminate: false, exitcode -15")) << t.out;
}

TEST(examples, process_globals) {
  auto t = run_example("process_globals");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "child sees 3 numbers\\nparent sees 2 numbers")) << t.out;
}

TEST(examples, shared_globals) {
  auto t = run_example("shared_globals");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "in process1 pid=\\d+, nums=\\[11, 22, 0, 1, 2\\], n=100\\n-+\\n"
                         "in process2 pid=\\d+, nums=\\[11, 22, 0, 1, 2\\], n=100\\n"
                         "in parent, nums=\\[11, 22, 0, 1, 2\\], n=100"))
    << t.out;
}

TEST(examples, fork_pids) {
  auto t = run_example("fork_pids");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(t.out, m,
                                std::regex{"I \\((\\d+)\\) just created a child process "
                                           "\\((\\d+)\\)\\."}))
    << t.out;
  EXPECT_TRUE(has(t.out, "I am child process \\(" + m[2].str() + "\\) and my parent is "
                           + m[1].str() + "\\."))
    << t.out;
}

TEST(examples, actor_handles) {
  auto t = run_example("actor_handles");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "relay asked counter: 41 \\+ 1 = 42")) << t.out;
}

TEST(examples, subprocess_call) {
  auto t = run_example("subprocess_call");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "\\$ uname -s\\nLinux\\nExit code: 0\\n")) << t.out;
  EXPECT_TRUE(has(t.out, "\\$ sort\\nexit\\npython.org\\nset q=mx\\nExit code: 0\\n")) << t.out;
}

TEST(examples, queue_writer_reader) {
  auto t = run_example("queue_writer_reader");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  for (std::string v : {"A", "B", "C"}) {
    auto put = t.out.find("Put " + v + " to queue...");
    auto got = t.out.find("Get " + v + " from queue.");
    ASSERT_NE(put, std::string::npos) << t.out;
    ASSERT_NE(got, std::string::npos) << t.out;
    EXPECT_LT(put, got) << t.out;
  }
  EXPECT_TRUE(has(t.out, "Process to write: \\d+")) << t.out;
  EXPECT_TRUE(has(t.out, "Process to read: \\d+")) << t.out;
}

TEST(examples, lock_counter) {
  auto t = run_example("lock_counter");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_EQ(t.out, "balance 0\n");
}

TEST(examples, bounded_queue) {
  auto t = run_example("bounded_queue");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  std::regex holds{"queue holds (\\d+), got (\\d+)"};
  int expected = 1;
  for (auto i = std::sregex_iterator(t.out.begin(), t.out.end(), holds);
       i != std::sregex_iterator(); ++i) {
    EXPECT_LE(std::stoi((*i)[1].str()), 2) << t.out;
    EXPECT_EQ(std::stoi((*i)[2].str()), expected++) << t.out;
  }
  EXPECT_EQ(expected, 7) << t.out;
}

TEST(examples, pipe_duplex) {
  auto t = run_example("pipe_duplex");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_EQ(t.out,
            "child received: hello\n"
            "parent received: echo of hello\n"
            "child received: world\n"
            "parent received: echo of world\n"
            "child: the parent closed its end\n"
            "parent received 1\n"
            "parent received 2\n"
            "parent received 3\n"
            "the writer is done\n");
}

TEST(examples, pool_long_tasks) {
  auto t = run_example("pool_long_tasks");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(has(t.out, "Run task " + std::to_string(i) + " \\(\\d+\\)\\.\\.\\.")) << t.out;
    EXPECT_TRUE(has(t.out, "Task " + std::to_string(i) + " runs \\d\\.\\d\\d seconds\\."))
      << t.out;
  }
  EXPECT_TRUE(has(t.out, "Waiting for all subprocesses done\\.\\.\\.")) << t.out;
  EXPECT_TRUE(has(t.out, "All subprocesses done\\.\\n$")) << t.out;
}

TEST(examples, pool_square) {
  auto t = run_example("pool_square");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_EQ(t.out,
            "apply: [0, 1, 4, 9, 16]\n"
            "apply_async: [0, 1, 4, 9, 16]\n"
            "map: [4, 16, 36, 64, 100]\n"
            "callbacks: [0, 1, 4, 9, 16]\n");
}

TEST(examples, pool_crash) {
  auto t = run_example("pool_crash");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  for (int x = 0; x < 20; ++x)
    if (x != 13)
      EXPECT_TRUE(has(t.out, "\\n?" + std::to_string(x) + " -> " + std::to_string(x * x) + "\\n"))
        << t.out;
  EXPECT_TRUE(has(t.out, "13 -> worker_died: proctor: the worker running the task died "
                         "\\(worker pid \\d+ killed by signal 9 \\(SIGKILL\\)\\); attempts: 3"))
    << t.out;
  EXPECT_TRUE(has(t.out, "19 results, 1 error\\nworker restarts: [34]\\n")) << t.out;
  EXPECT_TRUE(has(t.out, "the pool still works: 7 \\* 7 = 49")) << t.out;
}

TEST(examples, pool_echo_server) {
  auto t = run_example("pool_echo_server");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  for (int i = 0; i < 6; ++i)
    EXPECT_TRUE(has(t.out, "client " + std::to_string(i) + " got: HELLO FROM CLIENT "
                             + std::to_string(i) + "\\n"))
      << t.out;
  std::set<std::string> pids;
  std::regex pid_line{"pid: (\\d+)"};
  for (std::sregex_iterator i{t.out.begin(), t.out.end(), pid_line}, end; i != end; ++i)
    pids.insert((*i)[1].str());
  EXPECT_GE(pids.size(), 1u) << t.out;
  EXPECT_LE(pids.size(), 2u) << t.out; // six clients, two workers
}

TEST(examples, pool_folder_copy) {
  auto t = run_example("pool_folder_copy");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "\\r10\\.00\\.\\.\\.\\(file\\d\\.txt\\)")) << t.out;
  EXPECT_TRUE(has(t.out, "\\r100\\.00\\.\\.\\.\\(file\\d\\.txt\\) *\\n")) << t.out;
  EXPECT_TRUE(has(t.out, "copied 10 of 10 files\\n$")) << t.out;
}

TEST(examples, pool_queue_writer_reader) {
  auto t = run_example("pool_queue_writer_reader");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "writer started \\(\\d+\\), parent \\(\\d+\\)")) << t.out;
  EXPECT_TRUE(has(t.out, "reader started \\(\\d+\\), parent \\(\\d+\\)\\n"
                         "reader got from the queue: h\\nreader got from the queue: e\\n"
                         "reader got from the queue: l\\nreader got from the queue: l\\n"
                         "reader got from the queue: o\\n"))
    << t.out;
  EXPECT_TRUE(has(t.out, "\\) End\\n$")) << t.out;
}

TEST(examples, condition_producer_consumer) {
  auto t = run_example("condition_producer_consumer");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  for (int i = 1; i <= 6; ++i)
    EXPECT_TRUE(has(t.out, "produced item " + std::to_string(i) + "\n")) << t.out;
  EXPECT_EQ(occurrences(t.out, "consumer-1 took an item\n"), 3u) << t.out;
  EXPECT_EQ(occurrences(t.out, "consumer-2 took an item\n"), 3u) << t.out;
  EXPECT_TRUE(has(t.out, "stock left 0\n$")) << t.out;
}

TEST(examples, barrier_rounds) {
  auto t = run_example("barrier_rounds");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  // Every worker finishes round 1 before anyone reports round 2.
  auto first_round_2 = t.out.find("round 2");
  for (int id = 1; id <= 3; ++id) {
    auto line = "worker " + std::to_string(id) + " computed round 1";
    ASSERT_NE(t.out.find(line), std::string::npos) << t.out;
    EXPECT_LT(t.out.find(line), first_round_2) << t.out;
  }
  EXPECT_EQ(occurrences(t.out, "all 3 workers finished a round"), 2u) << t.out;
  EXPECT_TRUE(has(t.out, "exit codes 0 0 0\n$")) << t.out;
}

// The seeds' distributed pair on two hosts: two network namespaces joined by
// a veth pair, the master in one, the worker in the other.
TEST(examples, task_master_and_task_worker_run_on_two_hosts) {
  if (auto why = proctor::testing::netns_pair::unavailable(); !why.empty())
    GTEST_SKIP() << why;
  proctor::testing::netns_pair hosts;
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  std::string dir = PROCTOR_EXAMPLES_DIR;
  auto endpoint = "tcp://" + hosts.address(0) + ":5000";
  std::vector<std::string> key{"PROCTOR_AUTHKEY=abc"};
  subprocess master{hosts.in(0, {dir + "/task_master", endpoint, "10"}), key};
  // Serving, ten tasks put, waiting for results.
  ASSERT_TRUE(master.wait_for_lines(12, 60s)) << master.out() << master.err();
  subprocess worker{hosts.in(1, {dir + "/task_worker", endpoint}), key};
  EXPECT_EQ(worker.wait(60s), 0) << worker.out() << worker.err();
  ASSERT_EQ(master.wait(60s), 0) << master.out() << master.err();
  EXPECT_EQ(occurrences(worker.out(), "run task "), 10u) << worker.out();
  std::regex result{R"(Result: (\d+) \* (\d+) = (\d+))"};
  int results = 0;
  for (auto& line : master.out_lines()) {
    std::smatch m;
    if (!std::regex_match(line, m, result))
      continue;
    ++results;
    auto n = std::stoll(m[1]);
    EXPECT_EQ(std::stoll(m[3]), n * n) << line;
  }
  EXPECT_EQ(results, 10) << master.out();
  EXPECT_TRUE(has(master.out(), "master exit.")) << master.out();
}

TEST(examples, supervisor_strategies) {
  auto t = run_example("supervisor_strategies");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "one_for_one: b crashed; restarted: b\\n")) << t.out;
  EXPECT_TRUE(has(t.out, "one_for_all: b crashed; restarted: a b c\\n")) << t.out;
  EXPECT_TRUE(has(t.out, "rest_for_one: b crashed; restarted: b c\\n")) << t.out;
  EXPECT_TRUE(has(t.out, "session#2 crashed and was restarted alone")) << t.out;
  EXPECT_TRUE(has(t.out, "backoff: restarts waited 100 ms 200 ms 400 ms 400 ms")) << t.out;
  EXPECT_TRUE(has(t.out, "ended with supervisor_gave_up")) << t.out;
}

TEST(examples, supervised_server) {
  auto t = run_example("supervised_server");
  ASSERT_EQ(t.exitcode, 0) << t.err;
  EXPECT_TRUE(has(t.out, "client 1: put color blue -> ok\\n"
                         "client 2: get color -> blue\\n"
                         "killed the session process of client 2\\n"
                         "client 2: get color -> \\(connection closed\\)\\n"
                         "client 1: get color -> blue\\n"))
    << t.out;
  EXPECT_TRUE(has(t.out, "client 1: get color -> \\(connection closed\\)\\n"
                         "client 3: get color -> '' \\(a new cache\\)"))
    << t.out;
}
