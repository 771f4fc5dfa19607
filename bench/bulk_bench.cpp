// Bulk data between processes: 1 MiB payloads through the pool, a queue, a
// pipe and an actor, measured as ../shared/anchors/py_bulk.py measures
// Python (256 items, best of three runs); and the peak memory a 64 MiB
// queue item costs each process. Prints `name value unit` lines only.
#include <proctor/proctor.hpp>

#include "bench_support.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

namespace {

constexpr std::size_t item_size = 1u << 20;
constexpr int items = 256;
constexpr std::size_t big_item_size = 64u << 20;

/// A field of /proc/self/status, in KiB.
long status_kib(const char* field) {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  auto len = std::char_traits<char>::length(field);
  while (std::getline(status, line))
    if (line.compare(0, len, field) == 0)
      return std::stol(line.substr(len + 1));
  return 0;
}

/// Starts counting this process's peak RSS again from its current RSS.
void reset_peak_rss() {
  std::ofstream{"/proc/self/clear_refs"} << "5";
}

double mbps(double seconds) {
  return items * static_cast<double>(item_size) / seconds / 1e6;
}

double best_of_three(const std::function<double()>& run) {
  double best = 0;
  for (int i = 0; i < 3; ++i)
    best = std::max(best, mbps(run()));
  return best;
}

} // namespace

std::size_t weigh(std::string bytes) {
  return bytes.size();
}
PROCTOR_TASK(weigh);

std::string make(std::size_t n) {
  return std::string(n, 'r');
}
PROCTOR_TASK(make);

void produce(proctor::queue<std::string> q, int n) {
  std::string item(item_size, 'x');
  for (int i = 0; i < n; ++i)
    q.put(item);
  q.close();
  q.join_thread();
}
PROCTOR_TASK(produce);

void produce_pipe(proctor::pipe_writer<std::string> w, int n) {
  std::string item(item_size, 'x');
  for (int i = 0; i < n; ++i)
    w.send(item);
}
PROCTOR_TASK(produce_pipe);

/// Puts one 64 MiB item and reports the peak RSS growth that cost, in KiB.
void produce_big(proctor::queue<std::string> q, proctor::queue<long> report) {
  auto before = status_kib("VmRSS");
  reset_peak_rss();
  q.put(std::string(big_item_size, 'b'));
  q.close();
  q.join_thread();
  report.put(status_kib("VmHWM") - before);
}
PROCTOR_TASK(produce_big);

caf::behavior weigher(caf::event_based_actor*, int) {
  return {[](const std::string& bytes) { return static_cast<std::uint64_t>(bytes.size()); }};
}
PROCTOR_ACTOR(weigher);

namespace {

using bench::clock_type;
using bench::seconds_since;

double pool_arg(proctor::pool& p) {
  std::string arg(item_size, 'a');
  auto t = clock_type::now();
  std::vector<proctor::async_result<std::size_t>> rs;
  for (int i = 0; i < items; ++i)
    rs.push_back(p.apply_async(weigh, arg));
  for (auto& r : rs)
    r.get();
  return seconds_since(t);
}

double pool_result(proctor::pool& p) {
  auto t = clock_type::now();
  std::vector<proctor::async_result<std::string>> rs;
  for (int i = 0; i < items; ++i)
    rs.push_back(p.apply_async(make, item_size));
  for (auto& r : rs)
    r.get();
  return seconds_since(t);
}

double queue_run(proctor::runtime& rt) {
  proctor::queue<std::string> q{rt};
  proctor::process producer{rt, produce, q, items};
  auto t = clock_type::now();
  producer.start();
  for (int i = 0; i < items; ++i)
    q.get();
  producer.join();
  return seconds_since(t);
}

double pipe_run(proctor::runtime& rt) {
  auto [r, w] = proctor::pipe<std::string>(rt, proctor::one_way);
  proctor::process producer{rt, produce_pipe, w, items};
  auto t = clock_type::now();
  producer.start();
  for (int i = 0; i < items; ++i)
    r.recv();
  producer.join();
  return seconds_since(t);
}

double actor_run(caf::scoped_actor& self, const caf::actor& weigher) {
  std::string item(item_size, 'm');
  auto t = clock_type::now();
  for (int i = 0; i < items; ++i)
    self->request(weigher, caf::infinite, item)
      .receive([](std::uint64_t) {}, [](caf::error&) {});
  return seconds_since(t);
}

/// Peak RSS growth over the item's size, the worse of producer and consumer.
double peak_rss_ratio(proctor::runtime& rt) {
  proctor::queue<std::string> q{rt};
  proctor::queue<long> report{rt};
  proctor::process producer{rt, produce_big, q, report};
  auto before = status_kib("VmRSS");
  reset_peak_rss();
  producer.start();
  auto item = q.get();
  auto consumer_kib = status_kib("VmHWM") - before;
  auto producer_kib = report.get();
  producer.join();
  auto worse = std::max(consumer_kib, producer_kib);
  return static_cast<double>(worse) * 1024 / static_cast<double>(item.size());
}

} // namespace

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  {
    proctor::pool p{rt, {.processes = 2}};
    p.map(weigh, std::vector<std::string>(4));
    bench::print("bulk.pool_arg_MBps", best_of_three([&] { return pool_arg(p); }), "MB/s");
    bench::print("bulk.pool_result_MBps", best_of_three([&] { return pool_result(p); }),
                 "MB/s");
  }
  bench::print("bulk.queue_MBps", best_of_three([&] { return queue_run(rt); }), "MB/s");
  bench::print("bulk.pipe_MBps", best_of_three([&] { return pipe_run(rt); }), "MB/s");
  {
    auto weigher_actor = rt.spawn_in_process(weigher, 0);
    caf::scoped_actor self{rt.system()};
    bench::print("bulk.actor_MBps",
                 best_of_three([&] { return actor_run(self, weigher_actor); }), "MB/s");
    self->send_exit(weigher_actor, caf::exit_reason::user_shutdown);
  }
  bench::print("bulk.peak_rss_ratio", peak_rss_ratio(rt), "x");
}
