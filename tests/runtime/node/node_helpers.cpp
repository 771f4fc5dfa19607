// The master side of the node tests, the test binary started again as a
// separate master (nodes are the test binary with --proctor.join):
//   node_master ENDPOINT NODES MODE [--proctor flags]
// listens on ENDPOINT, prints the endpoint bound, waits for NODES nodes and
// prints one line per node ("node ID CORES STATE"), then per MODE:
//   basic     a pool with workers on the nodes only maps node_square over
//             0..99 ("sum S"); an actor spawned on the first node answers
//             ("actor N")
//   failover  a pool of two workers per node maps node_slow_square over
//             0..299, printing "running" after 30 results; the test kills
//             or freezes a node then. "results N wrong W" (W: results that
//             are not n*n), "retried R", and the nodes' states at the end.
// Exits 0 when done, 2 on an error.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "proctor/actor.hpp"
#include "proctor/pool.hpp"
#include "proctor/runtime.hpp"

namespace proctor::testing {

namespace {

using namespace std::chrono_literals;

int node_square(int n) {
  return n * n;
}
PROCTOR_TASK(node_square);

int node_slow_square(int n) {
  std::this_thread::sleep_for(10ms);
  return n * n;
}
PROCTOR_TASK(node_slow_square);

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
    return args.at(2) == "basic" ? basic(rt, ids) : failover(rt, ids);
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 2;
  }
}

} // namespace proctor::testing
