#include "proctor/pipe.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::pipe_end;
using proctor::pipe_reader;
using proctor::pipe_writer;
using proctor::process;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

// The wrong end of a one-way pipe does not compile.
template <class End>
concept can_send = requires(End e) { e.send(1); };
template <class End>
concept can_recv = requires(End e) {
  e.recv();
  e.poll();
};
static_assert(can_send<pipe_end<int>> && can_recv<pipe_end<int>>);
static_assert(!can_send<pipe_reader<int>> && can_recv<pipe_reader<int>>);
static_assert(can_send<pipe_writer<int>> && !can_recv<pipe_writer<int>>);

// Answers each number with its double until the other end closes.
int doubles_until_closed(pipe_end<int> end) {
  for (;;) {
    int x;
    try {
      x = end.recv();
    } catch (const proctor::end_of_pipe&) {
      return 0;
    }
    end.send(2 * x);
  }
}
PROCTOR_TASK(doubles_until_closed);

void echoes_one_string(pipe_end<std::string> end) {
  end.send(end.recv(30s));
}
PROCTOR_TASK(echoes_one_string);

void says_hello_then_hangs(pipe_writer<std::string> out) {
  out.send("hello");
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(says_hello_then_hangs);

void writes_one(pipe_writer<int> out) {
  out.send(1);
}
PROCTOR_TASK(writes_one);

// Takes a pipe end out of a queue and writes 42 into it.
void writes_to_the_end_in_the_queue(proctor::queue<pipe_writer<int>> ends) {
  ends.get(30s).send(42);
}
PROCTOR_TASK(writes_to_the_end_in_the_queue);

} // namespace

TEST(pipe, duplex_in_one_process) {
  auto [a, b] = proctor::pipe<std::vector<std::string>>(test_runtime());
  EXPECT_FALSE(b.poll());
  a.send({"x", "", std::string(100000, 'y')});
  EXPECT_TRUE(b.poll(limit));
  EXPECT_EQ(b.recv(), (std::vector<std::string>{"x", "", std::string(100000, 'y')}));
  b.send({"back"});
  EXPECT_EQ(a.recv(limit), std::vector<std::string>{"back"});
  EXPECT_THROW(a.recv(20ms), proctor::timeout_error);
  a.send({}); // an empty message is a message
  EXPECT_EQ(b.recv(limit), std::vector<std::string>{});
}

TEST(pipe, recv_drains_then_reports_the_end_and_send_fails) {
  auto [a, b] = proctor::pipe<int>(test_runtime());
  a.send(1);
  a.send(2);
  a.close();
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(b.recv(limit), 1);
  EXPECT_EQ(b.recv(limit), 2);
  EXPECT_TRUE(b.poll()); // recv would not block: it reports the end
  EXPECT_THROW(b.recv(limit), proctor::end_of_pipe);
  EXPECT_THROW(b.send(3), proctor::end_of_pipe);
  EXPECT_EQ(error_of([&] { a.send(4); }), proctor::errc::closed);
  EXPECT_EQ(error_of([&] { a.recv(); }), proctor::errc::closed);
}

TEST(pipe, close_on_another_thread_wakes_a_blocked_recv) {
  auto [a, b] = proctor::pipe<int>(test_runtime());
  auto blocked = std::async(std::launch::async, [&, &a = a] { return error_of([&] { a.recv(); }); });
  EXPECT_EQ(blocked.wait_for(50ms), std::future_status::timeout);
  a.close();
  ASSERT_EQ(blocked.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(blocked.get(), proctor::errc::closed);
}

TEST(pipe, one_way_ends) {
  auto [r, w] = proctor::pipe<int>(test_runtime(), proctor::one_way);
  w.send(7);
  EXPECT_EQ(r.recv(limit), 7);
}

TEST(pipe, duplex_between_two_processes_goes_straight_between_them) {
  auto& rt = test_runtime();
  auto [mine, theirs] = proctor::pipe<int>(rt);
  process child{rt, doubles_until_closed, theirs};
  child.start();
  for (int i = 0; i < 100; ++i) {
    mine.send(i);
    ASSERT_EQ(mine.recv(limit), 2 * i);
  }
  // The socket itself went to the child: this copy no longer holds it.
  EXPECT_EQ(error_of([&, &theirs = theirs] { theirs.send(1); }), proctor::errc::moved);
  mine.close();
  ASSERT_TRUE(child.join(limit));
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(pipe, sixteen_mebibyte_messages_pass_and_oversized_ones_are_refused) {
  auto& rt = test_runtime();
  auto [mine, theirs] = proctor::pipe<std::string>(rt);
  process child{rt, echoes_one_string, theirs};
  child.start();
  std::string huge(65u << 20, 'h');
  EXPECT_EQ(error_of([&, &mine = mine] { mine.send(huge); }), proctor::errc::frame_too_large);
  std::string big(16u << 20, 'x');
  big[12345] = 'y';
  mine.send(big);
  EXPECT_EQ(mine.recv(limit), big);
  ASSERT_TRUE(child.join(limit));
}

TEST(pipe, the_peers_death_ends_the_pipe) {
  auto& rt = test_runtime();
  auto [r, w] = proctor::pipe<std::string>(rt, proctor::one_way);
  process child{rt, says_hello_then_hangs, std::move(w)};
  child.start();
  EXPECT_EQ(r.recv(limit), "hello");
  auto blocked = std::async(std::launch::async, [&, &r = r] { return error_of([&] { r.recv(); }); });
  EXPECT_EQ(blocked.wait_for(50ms), std::future_status::timeout);
  child.kill();
  ASSERT_EQ(blocked.wait_for(limit), std::future_status::ready);
  EXPECT_EQ(blocked.get(), proctor::errc::end_of_pipe);
  ASSERT_TRUE(child.join(limit));
}

TEST(pipe, an_end_never_delivered_is_closed) {
  auto& rt = test_runtime();
  auto [r, w] = proctor::pipe<int>(rt, proctor::one_way);
  {
    process never_started{rt, writes_one, std::move(w)};
  }
  EXPECT_THROW(r.recv(limit), proctor::end_of_pipe);
}

TEST(pipe, an_end_travels_inside_a_queue_item) {
  auto& rt = test_runtime();
  auto [r, w] = proctor::pipe<int>(rt, proctor::one_way);
  proctor::queue<pipe_writer<int>> ends{rt};
  process child{rt, writes_to_the_end_in_the_queue, ends};
  child.start();
  ends.put(w);
  EXPECT_EQ(r.recv(limit), 42);
  ASSERT_TRUE(child.join(limit));
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(pipe, an_end_sent_twice_is_delivered_once) {
  auto& rt = test_runtime();
  auto [r, w] = proctor::pipe<int>(rt, proctor::one_way);
  proctor::queue<pipe_writer<int>> ends{rt};
  ends.put(w);
  ends.put(w);
  auto first = ends.get(limit);
  auto second = ends.get(limit);
  first.send(1);
  EXPECT_EQ(r.recv(limit), 1);
  EXPECT_EQ(error_of([&] { second.send(2); }), proctor::errc::moved);
  EXPECT_EQ(error_of([&, &w = w] { w.send(3); }), proctor::errc::moved);
}

TEST(pipe, a_forged_ticket_takes_nothing) {
  auto& rt = test_runtime();
  auto [r, w] = proctor::pipe<int>(rt, proctor::one_way);
  auto bytes = proctor::internal::encode_value(w);
  auto ticket = proctor::internal::decode_value<proctor::internal::pipe_ticket>(bytes);
  auto forged = ticket;
  forged.token_lo ^= 1;
  auto stolen = proctor::internal::decode_value<pipe_writer<int>>(
    proctor::internal::encode_value(forged));
  EXPECT_EQ(error_of([&] { stolen.send(1); }), proctor::errc::moved);
  auto rightful = proctor::internal::decode_value<pipe_writer<int>>(bytes);
  rightful.send(2);
  EXPECT_EQ(r.recv(limit), 2);
}
