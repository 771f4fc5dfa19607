// CPython's Lib/test/_test_multiprocessing.py, _TestConnection, written
// anew for proctor's pipes. Each test is named after the case it follows.
#include "proctor/pipe.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "proctor/process.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::pipe_end;
using proctor::pipe_reader;
using proctor::pipe_writer;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// _TestConnection._echo: sends back everything until the end of the pipe.
void parity_echo(pipe_end<std::string> conn) {
  for (;;) {
    try {
      conn.send(conn.recv());
    } catch (const proctor::end_of_pipe&) {
      return;
    }
  }
}
PROCTOR_TASK(parity_echo);

// test_spawn_close's child: sends back what it gets, then closes.
void parity_echo_once(pipe_end<std::string> conn) {
  conn.send(conn.recv());
  conn.close();
}
PROCTOR_TASK(parity_echo_once);

void parity_writes(pipe_writer<int> out, int x) {
  out.send(x);
}
PROCTOR_TASK(parity_writes);

void parity_writes_both(pipe_writer<int> a, pipe_writer<int> b) {
  a.send(1);
  b.send(2);
}
PROCTOR_TASK(parity_writes_both);

// _TestIgnoreEINTR._test_ignore: a signal with a handler (no SA_RESTART)
// arrives while the child waits in recv(); the call goes on.
void on_sigusr1(int) {
}

void parity_recv_through_a_signal(pipe_end<std::string> conn) {
  struct sigaction handler {};
  handler.sa_handler = on_sigusr1;
  ::sigaction(SIGUSR1, &handler, nullptr);
  conn.send("ready");
  conn.send(conn.recv() + " after the signal");
}
PROCTOR_TASK(parity_recv_through_a_signal);

// _TestPicklingConnections: an end that arrives inside a message on another
// pipe, used by the child that got it.
void parity_uses_a_received_end(pipe_reader<pipe_writer<int>> ends) {
  auto w = ends.recv();
  w.send(42);
}
PROCTOR_TASK(parity_uses_a_received_end);

template <class End>
concept can_send = requires(End e) { e.send(1); };
template <class End>
concept can_recv = requires(End e) { e.recv(); };

} // namespace

// test_connection: a round trip through a child, poll, and the end of the
// pipe once the child's end is gone.
TEST(python_parity, Connection_connection) {
  auto [conn, child_conn] = proctor::pipe<std::string>(test_runtime());
  process p{test_runtime(), parity_echo, child_conn};
  p.daemon(true);
  p.start();
  child_conn.close(); // Python's idiom: the parent drops its copy at once

  EXPECT_FALSE(conn.poll());
  conn.send("hello");
  EXPECT_EQ(conn.recv(limit), "hello");
  conn.send(std::string(100000, 'x'));
  EXPECT_TRUE(conn.poll(limit));
  EXPECT_EQ(conn.recv(limit), std::string(100000, 'x'));
  std::vector<std::string> many{"a", "", "ccc"};
  for (auto& s : many)
    conn.send(s);
  for (auto& s : many)
    EXPECT_EQ(conn.recv(limit), s);
  EXPECT_THROW(conn.recv(10ms), proctor::timeout_error);
  conn.close();
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
}

// test_duplex_false: a one-way pipe's ends each do one thing.
TEST(python_parity, Connection_duplex_false) {
  auto [reader, writer] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  writer.send(1);
  EXPECT_EQ(reader.recv(limit), 1);
  static_assert(!can_send<pipe_reader<int>> && can_send<pipe_writer<int>>);
  static_assert(!can_recv<pipe_writer<int>> && can_recv<pipe_reader<int>>);
  writer.close();
  EXPECT_THROW(reader.recv(limit), proctor::end_of_pipe);
}

// test_spawn_close: the parent closes its copy right after start(); the
// hand-over in flight still completes, and the child's close ends the pipe.
TEST(python_parity, Connection_spawn_close) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto [conn, child_conn] = proctor::pipe<std::string>(test_runtime());
    process p{test_runtime(), parity_echo_once, child_conn};
    p.start();
    child_conn.close();
    conn.send("hello");
    EXPECT_EQ(conn.recv(limit), "hello") << "attempt " << attempt;
    EXPECT_THROW(conn.recv(limit), proctor::end_of_pipe);
    ASSERT_TRUE(p.join(limit));
    EXPECT_EQ(p.exitcode(), 0);
  }
}

// An end passed to one process cannot be passed to a second: that call
// fails, not the second child later.
TEST(python_parity, Connection_end_moves_once) {
  auto [reader, writer] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  process first{test_runtime(), parity_writes, writer, 1};
  EXPECT_EQ(error_of([&, &writer = writer] {
              process second{test_runtime(), parity_writes, writer, 2};
            }),
            errc::moved);
  EXPECT_EQ(error_of([&, &writer = writer] { writer.send(3); }), errc::moved);
  first.start();
  EXPECT_EQ(reader.recv(limit), 1);
  ASSERT_TRUE(first.join(limit));
  EXPECT_EQ(first.exitcode(), 0);
}

// A closed end cannot be passed either; the call fails and leaves the ends
// of its other arguments usable here.
TEST(python_parity, Connection_closed_end_fails_at_the_call) {
  auto [reader, writer] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  auto [reader2, writer2] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  writer2.close();
  EXPECT_EQ(error_of([&, &writer = writer, &writer2 = writer2] {
              process p{test_runtime(), parity_writes_both, writer, writer2};
            }),
            errc::closed);
  writer.send(5);
  EXPECT_EQ(reader.recv(limit), 5);
  EXPECT_THROW(reader2.recv(limit), proctor::end_of_pipe);
}

// _TestPoll.test_strings and test_dont_merge: poll() says whether a
// message is there, and messages never merge nor split.
TEST(python_parity, Poll_strings_dont_merge) {
  auto [a, b] = proctor::pipe<std::string>(test_runtime());
  std::vector<std::string> strings{"hello", "", "a", "b", "", "bye", "", "lop"};
  for (auto& x : strings)
    a.send(x);
  for (auto& x : strings) {
    EXPECT_TRUE(b.poll(limit));
    EXPECT_EQ(b.recv(limit), x);
  }
  EXPECT_FALSE(b.poll());
}

TEST(python_parity, IgnoreEINTR_ignore) {
  auto [conn, child_conn] = proctor::pipe<std::string>(test_runtime());
  process p{test_runtime(), parity_recv_through_a_signal, child_conn};
  p.start();
  EXPECT_EQ(conn.recv(limit), "ready");
  std::this_thread::sleep_for(50ms); // let it block in recv
  ASSERT_EQ(::kill(p.pid(), SIGUSR1), 0);
  std::this_thread::sleep_for(50ms);
  conn.send("hello");
  EXPECT_EQ(conn.recv(limit), "hello after the signal");
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(python_parity, PicklingConnections_pickling) {
  auto [ends_r, ends_w] = proctor::pipe<pipe_writer<int>>(test_runtime(), proctor::one_way);
  auto [r, w] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  process p{test_runtime(), parity_uses_a_received_end, ends_r};
  p.start();
  ends_w.send(w);
  EXPECT_EQ(r.recv(limit), 42);
  ASSERT_TRUE(p.join(limit));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(error_of([&, &w = w] { w.send(1); }), errc::moved);
}
