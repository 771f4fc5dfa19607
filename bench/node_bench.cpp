// The many-host side of scripts/bench, run inside network namespaces that
// the script makes (host A for servers and the master, host B for clients
// and nodes). Prints `name value unit` lines only.
//   node_bench manager-serve ENDPOINT     serves a queue<int> "tasks" (until killed)
//   node_bench manager-measure ENDPOINT   a producer process puts N ints through the
//                                         manager while this process gets them, as
//                                         ../shared/anchors/py_manager.py does
//   node_bench master ENDPOINT            waits for three nodes (the same binary with
//                                         --proctor.join), then measures:
//     node.rtt_us                an actor request round trip to the first node
//     node.apply_async_per_s     a pool of two workers, both on the first node
//     node.failover_ms           SIGKILL of the third node during a map on the
//                                second and third: until the map is complete
//     node.failover_lost / _duplicated   results missing or delivered twice
//     node.frozen_detect_ms      SIGSTOP of the second node: until it is dead
//                                (run with --proctor.dead-after=1000)
//   node_bench tls-master ENDPOINT        waits for one node, with --proctor.tls-*
//                                         flags on both sides, and measures
//     tls.rtt_us                 node.rtt_us over TLS 1.3
#include <proctor/proctor.hpp>

#include "bench_support.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

using bench::clock_type;
using bench::print;
using bench::seconds_since;
using namespace std::chrono_literals;

constexpr int manager_items = 20000;

int square(int n) {
  return n * n;
}
PROCTOR_TASK(square);

int slow_square(int n) {
  std::this_thread::sleep_for(5ms);
  return n * n;
}
PROCTOR_TASK(slow_square);

caf::behavior echo(caf::event_based_actor*) {
  return {[](int x) { return x; }};
}
PROCTOR_ACTOR(echo);

void produce(std::string endpoint, int n) {
  proctor::manager_client client{proctor::runtime::current(), endpoint};
  auto tasks = client.get<proctor::queue<int>>("tasks");
  for (int i = 0; i < n; ++i)
    tasks.put(i);
  tasks.close();
  tasks.join_thread();
}
PROCTOR_TASK(produce);

int manager_serve(proctor::runtime& rt, const std::string& endpoint) {
  proctor::manager m{rt, endpoint};
  proctor::queue<int> tasks{rt};
  m.serve("tasks", tasks);
  std::fprintf(stderr, "serving on %s\n", m.address().c_str());
  for (;;)
    std::this_thread::sleep_for(1s);
}

int manager_measure(proctor::runtime& rt, const std::string& endpoint) {
  proctor::manager_client client{rt, endpoint};
  auto tasks = client.get<proctor::queue<int>>("tasks");
  for (int i = 0; i < 100; ++i) { // warm up
    tasks.put(i);
    tasks.get();
  }
  proctor::process producer{rt, produce, endpoint, manager_items};
  auto t = clock_type::now();
  producer.start();
  for (int i = 0; i < manager_items; ++i)
    tasks.get();
  auto seconds = seconds_since(t);
  producer.join();
  print("manager.queue_msgs_per_s", manager_items / seconds, "msgs/s");
  return 0;
}

int pid_of(const std::string& node_id) {
  return std::stoi(node_id.substr(node_id.rfind(':') + 1));
}

void measure_rtt(proctor::runtime& rt, const std::string& node, const char* name) {
  auto actor = rt.spawn_on(node, echo);
  caf::scoped_actor self{rt.system()};
  auto ask = [&](int x) {
    self->request(actor, caf::infinite, x).receive([](int) {}, [](caf::error&) {});
  };
  for (int i = 0; i < 1000; ++i)
    ask(i);
  constexpr int n = 20000;
  auto t = clock_type::now();
  for (int i = 0; i < n; ++i)
    ask(i);
  print(name, seconds_since(t) / n * 1e6, "us");
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

void measure_apply_async(proctor::runtime& rt, const std::string& node) {
  proctor::pool p{rt, {.nodes = {node}, .processes_per_node = 2}};
  std::vector<int> warm(100);
  p.map(square, warm);
  print("node.apply_async_per_s", bench::apply_async_per_s(p, square), "tasks/s");
}

void measure_failover(proctor::runtime& rt, const std::string& survivor,
                      const std::string& victim) {
  proctor::pool p{rt, {.nodes = {survivor, victim}, .processes_per_node = 2}};
  constexpr int n = 400;
  std::vector<int> xs(n);
  for (int i = 0; i < n; ++i)
    xs[i] = i;
  std::map<long, int> seen;
  int received = 0;
  clock_type::time_point killed;
  for (int r : p.imap_unordered(slow_square, xs)) {
    ++seen[r];
    if (++received == n / 4) {
      ::kill(pid_of(victim), SIGKILL);
      killed = clock_type::now();
    }
  }
  print("node.failover_ms", seconds_since(killed) * 1e3, "ms");
  int lost = 0;
  int duplicated = 0;
  for (int i = 0; i < n; ++i) {
    auto count = seen[static_cast<long>(i) * i];
    lost += count == 0 ? 1 : 0;
    duplicated += count > 1 ? count - 1 : 0;
  }
  print("node.failover_lost", lost, "tasks");
  print("node.failover_duplicated", duplicated, "tasks");
}

void measure_frozen(proctor::runtime& rt, const std::string& node) {
  ::kill(pid_of(node), SIGSTOP);
  auto t = clock_type::now();
  for (;;) {
    for (auto& info : rt.nodes())
      if (info.id == node && info.state == proctor::node_state::dead) {
        print("node.frozen_detect_ms", seconds_since(t) * 1e3, "ms");
        ::kill(pid_of(node), SIGKILL);
        return;
      }
    if (seconds_since(t) > 60) {
      std::fprintf(stderr, "node_bench: a frozen node was not declared dead in 60 s\n");
      return;
    }
    std::this_thread::sleep_for(1ms);
  }
}

int master(proctor::runtime& rt, const std::string& endpoint) {
  std::fprintf(stderr, "listening on %s\n", rt.listen(endpoint).c_str());
  if (!rt.wait_for_nodes(3, 60s)) {
    std::fprintf(stderr, "node_bench: fewer than three nodes joined\n");
    return 1;
  }
  auto nodes = rt.nodes();
  measure_rtt(rt, nodes.at(0).id, "node.rtt_us");
  measure_apply_async(rt, nodes.at(0).id);
  measure_failover(rt, nodes.at(1).id, nodes.at(2).id);
  measure_frozen(rt, nodes.at(1).id);
  ::kill(pid_of(nodes.at(0).id), SIGKILL);
  return 0;
}

/// The round trip again, over a link that runs TLS (the flags say so).
int tls_master(proctor::runtime& rt, const std::string& endpoint) {
  std::fprintf(stderr, "listening on %s\n", rt.listen(endpoint).c_str());
  if (!rt.wait_for_nodes(1, 60s)) {
    std::fprintf(stderr, "node_bench: no node joined over TLS\n");
    return 1;
  }
  auto node = rt.nodes().at(0).id;
  measure_rtt(rt, node, "tls.rtt_us");
  ::kill(pid_of(node), SIGKILL);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: node_bench manager-serve|manager-measure|master|tls-master ENDPOINT\n");
    return 2;
  }
  std::string mode = argv[1];
  std::string endpoint = argv[2];
  if (mode == "manager-serve")
    return manager_serve(rt, endpoint);
  if (mode == "manager-measure")
    return manager_measure(rt, endpoint);
  if (mode == "tls-master")
    return tls_master(rt, endpoint);
  return master(rt, endpoint);
}
