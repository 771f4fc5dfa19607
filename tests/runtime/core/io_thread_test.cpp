// The io thread never blocks: proxies made while a link is past its backlog
// do not wait for it to drain, and a pool worker is replaced while the io
// thread is flooded.
#include "proctor/runtime.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proctor/message_type.hpp"
#include "proctor/pipe.hpp"
#include "proctor/pool.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/sync.hpp"
#include "runtime/pipe/pipe_broker.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 60s;

caf::behavior swallows(caf::event_based_actor*) {
  return {[](const std::string&) {}, [](int) { return static_cast<int>(::getpid()); }};
}
PROCTOR_ACTOR(swallows);

int io_square(int x) {
  return x * x;
}
PROCTOR_TASK(io_square);

int io_pid() {
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(io_pid);

/// Puts `n` small items, as fast as it can.
void floods(proctor::queue<int> q, int n) {
  for (int i = 0; i < n; ++i)
    q.put(i);
}
PROCTOR_TASK(floods);

using string_reader = proctor::pipe_reader<std::string>;

/// A connection to this process's pipe broker that says nothing: the broker
/// serves one claim at a time, so it answers nobody until this closes.
int clog_own_pipe_broker() {
  auto name = proctor::internal::current_runtime()->pipes()->name();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0)
    throw std::runtime_error("cannot reach this process's pipe broker");
  return fd;
}

/// Sends the read end of a new pipe to `to` inside a message while its
/// broker answers nobody. Once the test says the message arrived (so it was
/// decoded while nobody could hand the end over), lets the broker go,
/// writes, and lives on until the test has read (a holder must outlive the
/// hand-over).
void sends_an_end(caf::actor to, proctor::event arrived, proctor::event done) {
  auto [reader, writer] = proctor::pipe<std::string>(proctor::runtime::current(),
                                                     proctor::one_way);
  int clog = clog_own_pipe_broker();
  caf::anon_send(to, reader);
  bool in_time = arrived.wait(limit);
  ::close(clog);
  if (in_time)
    writer.send("through the pipe");
  done.wait(limit);
}
PROCTOR_TASK(sends_an_end);

bool wait_until(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

} // namespace

PROCTOR_MESSAGE_TYPE(string_reader);

TEST(io_thread, a_pipe_end_in_a_message_does_not_wait_for_its_holder) {
  auto& rt = test_runtime();
  std::promise<string_reader> received;
  auto receiver = rt.system().spawn(
    [&received](caf::event_based_actor*, int) -> caf::behavior {
      return {[&received](string_reader& end) { received.set_value(end); }};
    },
    0);
  proctor::event arrived{rt};
  proctor::event done{rt};
  proctor::process sender{rt, sends_an_end, receiver, arrived, done};
  sender.start();
  auto end_future = received.get_future();
  ASSERT_EQ(end_future.wait_for(limit), std::future_status::ready);
  auto end = end_future.get();
  // The message was decoded on the io thread while the end's holder could
  // not hand it over: the io thread did not wait for it.
  arrived.set();
  // Once the holder answers, the end is here.
  EXPECT_EQ(end.recv(limit), "through the pipe");
  done.set();
  sender.join(limit);
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
}

TEST(io_thread, proxies_made_past_the_backlog_do_not_wait_for_it) {
  auto& rt = test_runtime();
  auto sink = rt.spawn_in_process(swallows);
  pid_t pid = 0;
  caf::scoped_actor self{rt.system()};
  self->request(sink, limit, 0).receive([&](int x) { pid = x; }, [](caf::error&) {});
  ASSERT_GT(pid, 0);
  // The worker stops reading: the link to it fills up.
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  std::atomic<int> sent{0};
  std::atomic<bool> sender_done{false};
  std::thread sender{[&] {
    std::string mib(1 << 20, 'm');
    for (int i = 0; i < 100; ++i) {
      caf::anon_send(sink, mib);
      ++sent;
    }
    sender_done = true;
  }};
  // The link is past its backlog (64 MiB): message sends wait for room.
  auto& routes = proctor::internal::current_runtime()->routes();
  auto link = routes.link_to(sink.node());
  ASSERT_TRUE(link);
  EXPECT_TRUE(wait_until([&] { return link->queued_bytes() >= (64u << 20); }))
    << link->queued_bytes();
  // Each new proxy sends a monitor frame on that link.
  std::vector<caf::strong_actor_ptr> proxies;
  for (caf::actor_id aid = 1'000'000; aid < 1'003'000; ++aid)
    proxies.push_back(routes.proxy_for(sink.node(), aid));
  EXPECT_EQ(proxies.size(), 3000u);
  // The sender is still held back: the proxies were made past the backlog.
  EXPECT_FALSE(sender_done.load());
  ::kill(pid, SIGCONT);
  EXPECT_TRUE(wait_until([&] { return sender_done.load(); }));
  sender.join();
  caf::anon_send_exit(sink, caf::exit_reason::kill);
}

TEST(io_thread, a_worker_is_replaced_while_the_io_thread_is_flooded) {
  auto& rt = test_runtime();
  proctor::pool p{rt, {.processes = 1}};
  ASSERT_EQ(p.apply(io_square, 3), 9);
  auto first = p.stats().worker_restarts;
  proctor::queue<int> q{rt};
  constexpr int items = 500'000;
  std::vector<std::unique_ptr<proctor::process>> flooders;
  for (int i = 0; i < 2; ++i) {
    flooders.push_back(std::make_unique<proctor::process>(rt, floods, q, items));
    flooders.back()->start();
  }
  // The first items are in: the io thread is busy with the rest.
  q.get(limit);
  ::kill(static_cast<pid_t>(p.apply(io_pid)), SIGKILL);
  // The pool replaces its worker and serves on.
  EXPECT_EQ(p.apply_async(io_square, 7).get(limit), 49);
  EXPECT_GT(p.stats().worker_restarts, first);
  for (int got = 1; got < 2 * items; ++got)
    q.get(limit);
  for (auto& f : flooders)
    f->join(limit);
}
