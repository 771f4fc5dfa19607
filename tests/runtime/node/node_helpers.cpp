// The master side of the node tests, the test binary started again as a
// separate master (nodes are the test binary with --proctor.join):
//   node_master ENDPOINT NODES MODE [--proctor flags]
// listens on ENDPOINT, prints the endpoint bound, waits for NODES nodes and
// prints one line per node ("node ID CORES STATE"), then per MODE:
//   basic     a pool with workers on the nodes only maps node_square over
//             0..99 ("sum S"); an actor spawned on the first node answers
//             ("actor N"); a task whose proctor::bytes exceed the frame limit
//             over TCP fails alone ("big frame_too_large"), the pool goes on
//             ("after 1"); a worker's shared memory is its node's ("node
//             block 9"), and a block of the master's host is not on the
//             node's ("master block no_such_block")
//   deadly    a task that kills every node it reaches (started with spawn)
//             fails after max_node_losses = 1, then a no_retry one at the
//             first loss: "error node_down: ..." twice
//   failover  a pool of two workers per node maps node_slow_square over
//             0..299, printing "running" after 30 results; the test kills
//             or freezes a node then. "results N wrong W" (W: results that
//             are not n*n), "retried R", and the nodes' states at the end.
//   process   proctor::process on the first node: one that returns 7
//             ("exitcode 7"), one that puts into the master's queue
//             ("queue 5"), one terminated while its sentinel is watched
//             ("sentinel 1 exitcode -15"), one on a node that is not there
//             ("no node node_down")
//   lost      a process on the first node that sleeps: "started", then,
//             once the test has killed the node, "lost exitcode -9"
//   supervised  supervisors and names across a node: see
//             node_supervision_helpers.cpp
// Exits 0 when done, 2 on an error.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "proctor/actor.hpp"
#include "proctor/bytes.hpp"
#include "proctor/pool.hpp"
#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"
#include "proctor/shared_memory.hpp"

namespace proctor::testing {

int supervised(runtime& rt, const std::vector<std::string>& ids);

namespace {

using namespace std::chrono_literals;

int node_square(int n) {
  return n * n;
}
PROCTOR_TASK(node_square);

std::size_t node_size(proctor::bytes b) {
  return b.size();
}
PROCTOR_TASK(node_size);

// On a node's worker: a block made through the node and the same block
// attached by name share their memory.
int node_block_roundtrip(int x) {
  auto& rt = runtime::current();
  auto made = shared_memory::create(rt, 4096);
  auto seen = shared_memory::attach(rt, made.name());
  made.buf()[0] = static_cast<std::byte>(x);
  return static_cast<int>(seen.buf()[0]);
}
PROCTOR_TASK(node_block_roundtrip);

// On a node's worker: what using a block of the master's host does.
std::string node_block_elsewhere(shared_memory block) {
  try {
    block.buf();
    return "mapped";
  } catch (const proctor::error& e) {
    return to_string(e.code());
  }
}
PROCTOR_TASK(node_block_elsewhere);

int node_slow_square(int n) {
  std::this_thread::sleep_for(10ms);
  return n * n;
}
PROCTOR_TASK(node_slow_square);

int node_returns(int code) {
  return code;
}
PROCTOR_TASK(node_returns);

int node_puts(queue<int> q, int x) {
  q.put(x);
  return 0;
}
PROCTOR_TASK(node_puts);

int node_sleeps(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return 0;
}
PROCTOR_TASK(node_sleeps);
// Kills the node running it: a worker of a node started with
// --proctor.start-method=spawn is that node's child.
int node_kills_its_host(int) {
  ::kill(::getppid(), SIGKILL);
  std::this_thread::sleep_for(60s);
  return 0;
}
PROCTOR_TASK(node_kills_its_host);

caf::behavior node_adder(caf::event_based_actor*) {
  return {[](int x) { return x + 1; }};
}
PROCTOR_ACTOR(node_adder);

void print_nodes(runtime& rt) {
  for (auto& n : rt.nodes())
    std::printf("node %s %u %s\n", n.id.c_str(), n.cores, to_string(n.state));
  std::fflush(stdout);
}

int basic(runtime& rt, const std::vector<std::string>& ids) {
  pool p{rt, {.nodes = ids, .processes_per_node = 2}};
  std::vector<int> xs(100);
  for (int i = 0; i < 100; ++i)
    xs[i] = i;
  long sum = 0;
  for (int r : p.map(node_square, xs))
    sum += r;
  std::printf("sum %ld\n", sum);
  // Past the default frame limit: shared memory on this host, too large
  // to travel inline to a node.
  proctor::byte_buffer big{(64u << 20) + 1};
  try {
    p.apply(node_size, big.freeze());
    std::printf("big passed\n");
  } catch (const proctor::error& e) {
    std::printf("big %s\n", to_string(e.code()));
  }
  std::printf("after %d\n", p.apply(node_square, 1));
  std::printf("node block %d\n", p.apply(node_block_roundtrip, 9));
  auto here = shared_memory::create(rt, 4096);
  std::printf("master block %s\n", p.apply(node_block_elsewhere, here).c_str());
  auto actor = rt.spawn_on(ids.at(0), node_adder);
  caf::scoped_actor self{rt.system()};
  int reply = -1;
  self->request(actor, std::chrono::seconds{30}, 41).receive([&](int x) { reply = x; },
                                                             [](caf::error&) {});
  std::printf("actor %d\n", reply);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  return 0;
}

int failover(runtime& rt, const std::vector<std::string>& ids) {
  pool p{rt, {.nodes = ids, .processes_per_node = 2, .max_retries = 0}};
  std::vector<int> xs(300);
  for (int i = 0; i < 300; ++i)
    xs[i] = i;
  int results = 0;
  int wrong = 0;
  int i = 0;
  for (int r : p.imap(node_slow_square, xs)) {
    if (r != i * i)
      ++wrong;
    ++i;
    if (++results == 30) {
      std::printf("running\n");
      std::fflush(stdout);
    }
  }
  std::printf("results %d wrong %d\n", results, wrong);
  std::printf("retried %zu\n", p.stats().retried);
  print_nodes(rt);
  return 0;
}

/// Prints a line at once: a test that times out shows how far it came.
template <class... Ts>
void say(const char* format, Ts... xs) {
  std::printf(format, xs...);
  std::fflush(stdout);
}

/// Whether `fd` becomes readable within `ms`.
bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

int processes(runtime& rt, const std::vector<std::string>& ids) {
  process returns{rt, node_returns, 7};
  returns.node(ids.at(0)).start();
  if (!returns.join(30s))
    return 2;
  say("exitcode %d\n", *returns.exitcode());
  queue<int> q{rt};
  process puts{rt, node_puts, q, 5};
  puts.node(ids.at(0)).start();
  say("queue %d\n", q.get(30s));
  if (!puts.join(30s))
    return 2;
  process sleeps{rt, node_sleeps, 60000};
  sleeps.node(ids.at(0)).start();
  int watched = sleeps.sentinel();
  bool early = readable(watched, 0);
  sleeps.terminate();
  bool ended = readable(watched, 30000);
  if (!sleeps.join(30s))
    return 2;
  say("sentinel %d exitcode %d\n", !early && ended, *sleeps.exitcode());
  process nowhere{rt, node_returns, 1};
  try {
    nowhere.node("no-such-host:1").start();
    say("started nowhere\n");
  } catch (const error& e) {
    say("no node %s\n", to_string(e.code()));
  }
  return 0;
}

int lost(runtime& rt, const std::vector<std::string>& ids) {
  process sleeps{rt, node_sleeps, 600000};
  sleeps.node(ids.at(0)).start();
  std::printf("started\n");
  std::fflush(stdout);
  if (!sleeps.join(60s))
    return 2;
  std::printf("lost exitcode %d\n", *sleeps.exitcode());
  return 0;
}

/// Prints "error CODE: WHAT" for a call that fails, "returned" otherwise.
template <class Call>
void print_outcome(Call call) {
  try {
    call();
    std::printf("returned\n");
  } catch (const error& e) {
    std::printf("error %s: %s\n", to_string(e.code()), e.what());
  }
  std::fflush(stdout);
}

int deadly(runtime& rt, const std::vector<std::string>& ids) {
  pool p{rt, {.nodes = ids, .processes_per_node = 1, .max_node_losses = 1}};
  print_outcome([&] { p.apply(node_kills_its_host, 0); });
  print_outcome([&] { p.apply(no_retry, node_kills_its_host, 0); });
  return 0;
}

} // namespace

int node_master_helper(runtime& rt, const std::vector<std::string>& args) {
  try {
    std::printf("%s\n", rt.listen(args.at(0)).c_str());
    std::fflush(stdout);
    auto expected = std::stoul(args.at(1));
    if (!rt.wait_for_nodes(expected, 30s)) {
      std::printf("too few nodes\n");
      return 2;
    }
    print_nodes(rt);
    std::vector<std::string> ids;
    for (auto& n : rt.nodes())
      ids.push_back(n.id);
    auto& mode = args.at(2);
    if (mode == "basic")
      return basic(rt, ids);
    if (mode == "process")
      return processes(rt, ids);
    if (mode == "lost")
      return lost(rt, ids);
    if (mode == "deadly")
      return deadly(rt, ids);
    if (mode == "supervised")
      return supervised(rt, ids);
    return failover(rt, ids);
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 2;
  }
}

} // namespace proctor::testing
