// Bulk data between processes: 1 MiB payloads through the pool, a queue, a
// pipe and an actor, measured as ../shared/anchors/py_bulk.py measures
// Python (256 items, best of three runs); and the peak memory a 64 MiB
// queue item costs each process. Prints `name value unit` lines only.
//
// bulk.* move proctor::bytes, the type for bulk data (shared memory on one
// host); bulk.string.* move std::string, which is copied on every hop.
#include <proctor/proctor.hpp>

#include "bench_support.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <type_traits>
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

std::atomic<std::size_t> touched{0};

/// Reads one byte of every page: a receiver of shared memory maps it
/// lazily, so a figure that never read the payload would flatter it. A
/// std::string was written on arrival already.
template <class T>
void touch(const T& x) {
  if constexpr (std::is_same_v<T, proctor::bytes>) {
    std::size_t sum = 0;
    auto data = x.span();
    for (std::size_t i = 0; i < data.size(); i += 4096)
      sum += std::to_integer<std::size_t>(data[i]);
    touched.fetch_add(sum, std::memory_order_relaxed);
  }
}

std::size_t weigh_bytes(proctor::bytes b) {
  touch(b);
  return b.size();
}
PROCTOR_TASK(weigh_bytes);

proctor::bytes make_bytes(std::size_t n) {
  proctor::byte_buffer buffer{n};
  std::memset(buffer.data(), 'r', n);
  return buffer.freeze();
}
PROCTOR_TASK(make_bytes);

template <class T>
T payload(char c) {
  if constexpr (std::is_same_v<T, std::string>)
    return std::string(item_size, c);
  else
    return proctor::bytes{std::string(item_size, c)};
}

template <class T>
void produce(proctor::queue<T> q, int n) {
  auto item = payload<T>('x');
  for (int i = 0; i < n; ++i)
    q.put(item);
  q.close();
  q.join_thread();
}

void produce_strings(proctor::queue<std::string> q, int n) {
  produce(std::move(q), n);
}
PROCTOR_TASK(produce_strings);

void produce_bytes(proctor::queue<proctor::bytes> q, int n) {
  produce(std::move(q), n);
}
PROCTOR_TASK(produce_bytes);

template <class T>
void produce_pipe(proctor::pipe_writer<T> w, int n) {
  auto item = payload<T>('x');
  for (int i = 0; i < n; ++i)
    w.send(item);
}

void pipe_strings(proctor::pipe_writer<std::string> w, int n) {
  produce_pipe(std::move(w), n);
}
PROCTOR_TASK(pipe_strings);

void pipe_bytes(proctor::pipe_writer<proctor::bytes> w, int n) {
  produce_pipe(std::move(w), n);
}
PROCTOR_TASK(pipe_bytes);

/// A 64 MiB item: a std::string, or bytes written in place.
template <class T>
T big_payload() {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(big_item_size, 'b');
  } else {
    proctor::byte_buffer buffer{big_item_size};
    std::memset(buffer.data(), 'b', big_item_size);
    return buffer.freeze();
  }
}

/// Puts one 64 MiB item and reports the peak RSS growth that cost, in KiB.
template <class T>
void produce_big(proctor::queue<T> q, proctor::queue<long> report) {
  auto before = status_kib("VmRSS");
  reset_peak_rss();
  q.put(big_payload<T>());
  q.close();
  q.join_thread();
  report.put(status_kib("VmHWM") - before);
}

void produce_big_string(proctor::queue<std::string> q, proctor::queue<long> report) {
  produce_big(std::move(q), std::move(report));
}
PROCTOR_TASK(produce_big_string);

void produce_big_bytes(proctor::queue<proctor::bytes> q, proctor::queue<long> report) {
  produce_big(std::move(q), std::move(report));
}
PROCTOR_TASK(produce_big_bytes);

caf::behavior weigher(caf::event_based_actor*, int) {
  return {
    [](const std::string& s) { return static_cast<std::uint64_t>(s.size()); },
    [](const proctor::bytes& b) {
      touch(b);
      return static_cast<std::uint64_t>(b.size());
    },
  };
}
PROCTOR_ACTOR(weigher);

namespace {

using bench::clock_type;
using bench::seconds_since;

template <class T>
double pool_arg(proctor::pool& p, std::size_t (*fn)(T)) {
  auto arg = payload<T>('a');
  auto t = clock_type::now();
  std::vector<proctor::async_result<std::size_t>> rs;
  for (int i = 0; i < items; ++i)
    rs.push_back(p.apply_async(fn, arg));
  for (auto& r : rs)
    r.get();
  return seconds_since(t);
}

template <class T>
double pool_result(proctor::pool& p, T (*fn)(std::size_t)) {
  auto t = clock_type::now();
  std::vector<proctor::async_result<T>> rs;
  for (int i = 0; i < items; ++i)
    rs.push_back(p.apply_async(fn, item_size));
  for (auto& r : rs)
    touch(r.get());
  return seconds_since(t);
}

template <class T>
double queue_run(proctor::runtime& rt, void (*producer_fn)(proctor::queue<T>, int)) {
  proctor::queue<T> q{rt};
  proctor::process producer{rt, producer_fn, q, items};
  auto t = clock_type::now();
  producer.start();
  for (int i = 0; i < items; ++i)
    touch(q.get());
  producer.join();
  return seconds_since(t);
}

template <class T>
double pipe_run(proctor::runtime& rt, void (*producer_fn)(proctor::pipe_writer<T>, int)) {
  auto [r, w] = proctor::pipe<T>(rt, proctor::one_way);
  proctor::process producer{rt, producer_fn, w, items};
  auto t = clock_type::now();
  producer.start();
  for (int i = 0; i < items; ++i)
    touch(r.recv());
  producer.join();
  return seconds_since(t);
}

template <class T>
double actor_run(caf::scoped_actor& self, const caf::actor& weigher) {
  auto item = payload<T>('m');
  auto t = clock_type::now();
  for (int i = 0; i < items; ++i)
    self->request(weigher, caf::infinite, item)
      .receive([](std::uint64_t) {}, [](caf::error&) {});
  return seconds_since(t);
}

/// Peak RSS growth over the item's size, the worse of producer and consumer.
template <class T>
double peak_rss_ratio(proctor::runtime& rt,
                      void (*producer_fn)(proctor::queue<T>, proctor::queue<long>)) {
  proctor::queue<T> q{rt};
  proctor::queue<long> report{rt};
  proctor::process producer{rt, producer_fn, q, report};
  auto before = status_kib("VmRSS");
  reset_peak_rss();
  producer.start();
  auto item = q.get();
  touch(item); // mapped lazily: resident once read
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
    bench::print("bulk.pool_arg_MBps",
                 best_of_three([&] { return pool_arg(p, weigh_bytes); }), "MB/s");
    bench::print("bulk.pool_result_MBps",
                 best_of_three([&] { return pool_result(p, make_bytes); }), "MB/s");
    bench::print("bulk.string.pool_arg_MBps",
                 best_of_three([&] { return pool_arg(p, weigh); }), "MB/s");
    bench::print("bulk.string.pool_result_MBps",
                 best_of_three([&] { return pool_result(p, make); }), "MB/s");
  }
  bench::print("bulk.queue_MBps", best_of_three([&] { return queue_run(rt, produce_bytes); }),
               "MB/s");
  bench::print("bulk.string.queue_MBps",
               best_of_three([&] { return queue_run(rt, produce_strings); }), "MB/s");
  bench::print("bulk.pipe_MBps", best_of_three([&] { return pipe_run(rt, pipe_bytes); }),
               "MB/s");
  bench::print("bulk.string.pipe_MBps",
               best_of_three([&] { return pipe_run(rt, pipe_strings); }), "MB/s");
  {
    auto weigher_actor = rt.spawn_in_process(weigher, 0);
    caf::scoped_actor self{rt.system()};
    bench::print("bulk.actor_MBps",
                 best_of_three([&] { return actor_run<proctor::bytes>(self, weigher_actor); }),
                 "MB/s");
    bench::print("bulk.string.actor_MBps",
                 best_of_three([&] { return actor_run<std::string>(self, weigher_actor); }),
                 "MB/s");
    self->send_exit(weigher_actor, caf::exit_reason::user_shutdown);
  }
  bench::print("bulk.peak_rss_ratio", peak_rss_ratio(rt, produce_big_bytes), "x");
  bench::print("bulk.string.peak_rss_ratio", peak_rss_ratio(rt, produce_big_string), "x");
}
