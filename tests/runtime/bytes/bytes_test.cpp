// proctor::bytes between processes: shared memory both ways, inline when
// small, and nothing left behind when either side is killed mid-transfer.
#include "proctor/bytes.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/actor.hpp"
#include "proctor/pipe.hpp"
#include "proctor/pool.hpp"
#include "proctor/process.hpp"
#include "proctor/runtime.hpp"
#include "tests/support/ask.hpp"
#include "tests/support/bytes_patterns.hpp"
#include "tests/support/descriptors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

using namespace std::chrono_literals;
using proctor::bytes;
using proctor::byte_buffer;
using proctor::testing::ask;
using proctor::testing::describe;
using proctor::testing::eventually;
using proctor::testing::pattern;
using proctor::testing::segments_held;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = std::chrono::seconds{30};

} // namespace

std::string describe_task(bytes b) {
  return describe(b);
}
PROCTOR_TASK(describe_task);

bytes make_task(std::uint64_t n, int seed) {
  return pattern(n, seed);
}
PROCTOR_TASK(make_task);

/// Dies the first time (no `marker` file yet), describes `b` the second.
std::string describe_after_a_crash(bytes b, std::string marker) {
  if (!std::filesystem::exists(marker)) {
    std::ofstream{marker} << "crashed";
    std::raise(SIGKILL);
  }
  return describe(b);
}
PROCTOR_TASK(describe_after_a_crash);

/// Sends `count` patterns of `size` bytes down the pipe, then what the
/// other end sends back, described.
void pipe_bytes_out(proctor::pipe_end<bytes> end, std::uint64_t size, int count) {
  for (int i = 0; i < count; ++i)
    end.send(pattern(size, i));
  auto back = end.recv();
  end.send(bytes{describe(back)});
}
PROCTOR_TASK(pipe_bytes_out);

caf::behavior bytes_inspector(caf::event_based_actor*) {
  return {
    [](const bytes& b) { return describe(b); },
    [](const bytes& b, int pause_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds{pause_ms});
      return describe(b);
    },
  };
}
PROCTOR_ACTOR(bytes_inspector);

caf::behavior bytes_maker(caf::event_based_actor*) {
  return {
    [](std::uint64_t n, int seed) { return pattern(n, seed); },
    [](const bytes& b) { return b; },
  };
}
PROCTOR_ACTOR(bytes_maker);

/// Sends `count` messages of `size` fresh bytes to `target`, as fast as the
/// link takes them.
caf::behavior bytes_flooder(caf::event_based_actor* self) {
  return {
    [=](caf::actor target, std::uint64_t size, int count) {
      for (int i = 0; i < count; ++i)
        self->send(target, pattern(size, i));
    },
  };
}
PROCTOR_ACTOR(bytes_flooder);

namespace {

/// The pid of the worker process that hosts `actor`.
pid_t pid_of(const caf::actor& actor) {
  auto node = to_string(caf::actor_cast<caf::strong_actor_ptr>(actor)->node());
  return static_cast<pid_t>(std::stoi(node.substr(node.find('#') + 1)));
}

} // namespace

TEST(bytes, large_bytes_travel_as_shared_memory_both_ways) {
  auto& rt = test_runtime();
  auto inspector = rt.spawn_in_process(bytes_inspector);
  auto maker = rt.spawn_in_process(bytes_maker);
  caf::scoped_actor self{rt.system()};
  auto big = pattern(1 << 20, 3);
  EXPECT_EQ(ask<std::string>(self, inspector, big), describe(big));
  auto made = ask<bytes>(self, maker, std::uint64_t{1} << 20, 5);
  EXPECT_TRUE(made.shared());
  EXPECT_TRUE(made == pattern(1 << 20, 5));
  // Passed on and back: the same memory, never copied.
  auto back = ask<bytes>(self, maker, big);
  EXPECT_TRUE(back.shared());
  EXPECT_TRUE(back == big);
  self->send_exit(inspector, caf::exit_reason::user_shutdown);
  self->send_exit(maker, caf::exit_reason::user_shutdown);
}

TEST(bytes, small_bytes_and_slices_travel_as_they_should) {
  auto& rt = test_runtime();
  auto inspector = rt.spawn_in_process(bytes_inspector);
  caf::scoped_actor self{rt.system()};
  bytes small{std::string_view{"a few bytes"}};
  EXPECT_EQ(ask<std::string>(self, inspector, small), describe(small));
  EXPECT_EQ(ask<std::string>(self, inspector, bytes{}), "0:0:0");
  auto big = pattern(300000, 9);
  auto part = big.slice(1234, 100000);
  EXPECT_EQ(ask<std::string>(self, inspector, part), describe(part));
  self->send_exit(inspector, caf::exit_reason::user_shutdown);
}

TEST(bytes, a_receiver_killed_mid_transfer_leaves_the_sender_nothing) {
  auto& rt = test_runtime();
  auto held = segments_held();
  auto inspector = rt.spawn_in_process(bytes_inspector);
  caf::scoped_actor self{rt.system()};
  self->monitor(inspector);
  {
    // Slow to answer: most of these are still in flight or queued there.
    for (int i = 0; i < 64; ++i)
      self->send(inspector, pattern(256 * 1024, i), 20);
    EXPECT_EQ(::kill(pid_of(inspector), SIGKILL), 0);
  }
  bool down = false;
  self->receive_while([&] { return !down; })(
    [&](caf::down_msg&) { down = true; }, [&](std::string&) {}, [&](caf::error&) {},
    caf::after(limit) >> [&] { ADD_FAILURE() << "no down_msg"; down = true; });
  EXPECT_TRUE(eventually([&] { return segments_held() == held; }))
    << segments_held() << " left, " << held << " before";
}

TEST(bytes, a_sender_killed_mid_transfer_leaves_the_receiver_nothing) {
  auto& rt = test_runtime();
  auto held = segments_held();
  auto flooder = rt.spawn_in_process(bytes_flooder);
  caf::scoped_actor self{rt.system()};
  self->monitor(flooder);
  self->send(flooder, caf::actor{self}, std::uint64_t{512 * 1024}, 200);
  // Once the first arrived, kill the sender while the rest stream in.
  self->receive([](bytes&) {}, caf::after(limit) >> [] { ADD_FAILURE() << "nothing came"; });
  EXPECT_EQ(::kill(pid_of(flooder), SIGKILL), 0);
  bool down = false;
  self->receive_while([&] { return !down; })(
    [&](caf::down_msg&) { down = true; }, [&](bytes&) {},
    caf::after(limit) >> [&] { ADD_FAILURE() << "no down_msg"; down = true; });
  // What is in the mailbox holds its memory until it is taken, and frames
  // the sender wrote before it died may still be arriving: keep taking.
  EXPECT_TRUE(eventually([&] {
    for (bool more = true; more;)
      self->receive([](bytes&) {}, caf::after(0ms) >> [&] { more = false; });
    return segments_held() == held;
  })) << segments_held() << " left, " << held << " before";
}

TEST(bytes, a_pool_task_takes_and_returns_shared_memory) {
  auto& rt = test_runtime();
  proctor::pool p{rt, {.processes = 2}};
  auto big = pattern(1 << 20, 1);
  EXPECT_EQ(p.apply(describe_task, big), describe(big));
  auto made = p.apply(make_task, std::uint64_t{1} << 20, 2);
  EXPECT_TRUE(made.shared());
  EXPECT_TRUE(made == pattern(1 << 20, 2));
  EXPECT_EQ(p.apply(make_task, std::uint64_t{10}, 3), pattern(10, 3));
}

TEST(bytes, a_map_over_many_bytes_keeps_each_with_its_chunk) {
  auto& rt = test_runtime();
  proctor::pool p{rt, {.processes = 2}};
  std::vector<bytes> inputs;
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    inputs.push_back(pattern(70000 + static_cast<std::size_t>(i) * 1000, i));
    expected.push_back(describe(inputs.back()));
  }
  inputs.push_back(bytes{std::string_view{"small"}});
  expected.push_back(describe(inputs.back()));
  EXPECT_EQ(p.map(describe_task, inputs, 7), expected);
}

TEST(bytes, a_retried_task_gets_the_same_shared_memory) {
  auto& rt = test_runtime();
  proctor::pool p{rt, {.processes = 1}};
  auto marker = std::filesystem::temp_directory_path()
                / ("proctor-bytes-retry-" + std::to_string(::getpid()));
  std::filesystem::remove(marker);
  auto big = pattern(300000, 4);
  EXPECT_EQ(p.apply(describe_after_a_crash, big, marker.string()), describe(big));
  std::filesystem::remove(marker);
}

TEST(bytes, a_pipe_carries_shared_memory_both_ways) {
  auto& rt = test_runtime();
  auto [mine, theirs] = proctor::pipe<bytes>(rt);
  proctor::process child{rt, pipe_bytes_out, theirs, std::uint64_t{200000}, 20};
  child.start();
  for (int i = 0; i < 20; ++i) {
    auto got = mine.recv(limit);
    EXPECT_TRUE(got.shared()); // mapped, not received inline
    EXPECT_TRUE(got == pattern(200000, i)) << i;
  }
  auto big = pattern(1 << 20, 77);
  mine.send(big);
  EXPECT_EQ(mine.recv(limit).view(), describe(big));
  child.join();
  EXPECT_EQ(child.exitcode(), std::optional<int>{0});
}

TEST(bytes, to_a_peer_they_travel_inline_over_tcp_and_shared_over_a_unix_socket) {
  using proctor::testing::helper_argv;
  using proctor::testing::subprocess;
  const std::vector<std::string> key{"PROCTOR_AUTHKEY=bytes-peers"};
  auto dir = proctor::testing::make_temp_dir();
  for (auto [where, arrives] : {std::pair<std::string, std::string>{"tcp://127.0.0.1:0", "inline"},
                                {"unix:" + dir + "/peer", "shared"}}) {
    subprocess server{helper_argv("serve", {where}), key};
    ASSERT_TRUE(server.wait_for_lines(1, limit)) << server.err();
    subprocess client{helper_argv("send_bytes", {server.out_lines().at(0)}), key};
    EXPECT_EQ(client.wait(limit), std::optional<int>{0}) << client.err();
    ASSERT_TRUE(client.wait_for_lines(1, limit));
    EXPECT_EQ(client.out_lines().at(0), "reply 1048576:" + arrives) << where;
  }
  std::filesystem::remove_all(dir);
}
