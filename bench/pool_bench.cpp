// The pool's side of scripts/bench: prints `name value unit` lines only,
// measured as ../shared/anchors/py_pool.py measures Python's Pool.
#include <proctor/proctor.hpp>

#include "bench_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <unistd.h>

namespace {

using bench::clock_type;
using bench::print;
using bench::seconds_since;

long rss_kib(int pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

} // namespace

int square(int n) {
  return n * n;
}
PROCTOR_TASK(square);

int worker_pid(int) {
  return static_cast<int>(::getpid());
}
PROCTOR_TASK(worker_pid);

std::vector<int> square_and_pid(int n) {
  return {n * n, static_cast<int>(::getpid())};
}
PROCTOR_TASK(square_and_pid);

namespace {

std::vector<int> range(int n) {
  std::vector<int> xs(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    xs[static_cast<std::size_t>(i)] = i;
  return xs;
}

double start_ms(proctor::runtime& rt) {
  auto t = clock_type::now();
  proctor::pool p{rt, {.processes = 2}};
  p.map(square, range(2), 1);
  return seconds_since(t) * 1e3;
}

/// From SIGKILL of a worker until its replacement has run a task.
double restart_ms(proctor::runtime& rt) {
  proctor::pool p{rt, {.processes = 1, .max_restarts = 1000}};
  double total = 0;
  constexpr int rounds = 20;
  for (int i = 0; i < rounds; ++i) {
    int pid = p.apply(worker_pid, 0);
    auto t = clock_type::now();
    ::kill(pid, SIGKILL);
    while (p.apply(worker_pid, 0) == pid) {
    }
    total += seconds_since(t);
  }
  return total / rounds * 1e3;
}

/// 100k tasks while a worker is SIGKILLed every 100 ms: tasks whose result
/// never came (or came wrong) and tasks whose callback ran more than once.
std::pair<long, long> chaos(proctor::runtime& rt) {
  proctor::pool p{rt, {.processes = 2, .max_retries = 1000, .max_restarts = 1000000}};
  constexpr int n = 100000;
  std::vector<std::atomic<int>> delivered(n);
  std::vector<std::atomic<bool>> wrong(n);
  std::atomic<int> last_pid{0};
  std::vector<proctor::async_result<std::vector<int>>> results;
  results.reserve(n);
  for (int i = 0; i < n; ++i)
    results.push_back(p.apply_async(
      proctor::callbacks{[&, i](const std::vector<int>& r) {
                           ++delivered[static_cast<std::size_t>(i)];
                           if (r.size() != 2 || r[0] != i * i)
                             wrong[static_cast<std::size_t>(i)] = true;
                           else
                             last_pid = r[1];
                         },
                         [&, i](const proctor::error&) { ++delivered[static_cast<std::size_t>(i)]; }},
      square_and_pid, i));
  std::atomic<bool> done{false};
  std::thread killer{[&] {
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
      if (int pid = last_pid.load(); pid != 0)
        ::kill(pid, SIGKILL);
    }
  }};
  long lost = 0;
  for (int i = 0; i < n; ++i) {
    try {
      if (results[static_cast<std::size_t>(i)].get()[0] != i * i)
        ++lost;
    } catch (const proctor::error&) {
      ++lost;
    }
  }
  done = true;
  killer.join();
  long duplicated = 0;
  for (int i = 0; i < n; ++i) {
    if (delivered[static_cast<std::size_t>(i)] > 1)
      ++duplicated;
    if (wrong[static_cast<std::size_t>(i)])
      ++lost;
  }
  return {lost, duplicated};
}

} // namespace

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  // The first pool right after the runtime: it waits for the fork server,
  // which the runtime starts (an exec) as it starts. Then a pool as an
  // application that has been up for a moment starts one, which is what
  // Python's figure (start method fork: no exec) compares to.
  print("pool.cold_start_ms", start_ms(rt), "ms");
  print("pool.start_ms", start_ms(rt), "ms");
  {
    proctor::pool p{rt, {.processes = 2}};
    p.map(square, range(100));

    constexpr int n = 20000;
    print("pool.apply_async_per_s", bench::apply_async_per_s(p, square, n), "tasks/s");

    constexpr int m = 2000;
    auto t = clock_type::now();
    for (int i = 0; i < m; ++i)
      p.apply(square, i);
    print("pool.apply_latency_us", seconds_since(t) / m * 1e6, "us");

    t = clock_type::now();
    p.map(square, range(n), 1);
    print("pool.map_chunk1_per_s", n / seconds_since(t), "tasks/s");

    constexpr int big = 1000000;
    auto xs = range(big);
    t = clock_type::now();
    p.map(square, xs, 1000);
    print("pool.map_chunk1000_per_s", big / seconds_since(t), "tasks/s");

    auto pids = p.map(worker_pid, range(2), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    long rss = 0;
    for (int pid : std::set<int>(pids.begin(), pids.end()))
      rss = std::max(rss, rss_kib(pid));
    print("worker.idle_rss_kib", static_cast<double>(rss), "KiB");
  }
  print("pool.restart_ms", restart_ms(rt), "ms");
  auto [lost, duplicated] = chaos(rt);
  print("pool.chaos_lost", static_cast<double>(lost), "tasks");
  print("pool.chaos_duplicated", static_cast<double>(duplicated), "tasks");
}
