// The soak: a million pool tasks and 10,000 short-lived threads that use a
// queue and a lock, in ten rounds. Prints how the master's resident memory
// and open descriptors grew from the end of the first round to the end of
// the last (`name value unit` lines only).
#include <proctor/proctor.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

long rss_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

long open_fds() {
  long n = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator{"/proc/self/fd"})
    ++n;
  return n;
}

constexpr int rounds = 10;
constexpr int tasks_per_round = 100'000;
constexpr int threads_per_round = 1'000;
constexpr int threads_at_once = 50;

} // namespace

int soak_square(int n) {
  return n * n;
}
PROCTOR_TASK(soak_square);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::pool pool{rt};
  proctor::queue<int> q{rt};
  proctor::process_lock lock{rt};
  std::vector<int> inputs(tasks_per_round);
  for (int i = 0; i < tasks_per_round; ++i)
    inputs[i] = i;
  long rss_first = 0, fds_first = 0;
  for (int round = 0; round < rounds; ++round) {
    auto out = pool.map(soak_square, inputs, 1);
    if (out.size() != inputs.size() || out.back() != (tasks_per_round - 1) * (tasks_per_round - 1)) {
      std::fprintf(stderr, "soak: wrong results in round %d\n", round);
      return 1;
    }
    for (int started = 0; started < threads_per_round; started += threads_at_once) {
      std::vector<std::thread> batch;
      for (int i = 0; i < threads_at_once; ++i)
        batch.emplace_back([&, i] {
          q.put(i);
          (void) q.get();
          std::lock_guard<proctor::process_lock> guard{lock};
        });
      for (auto& t : batch)
        t.join();
    }
    if (round == 0) {
      rss_first = rss_kib();
      fds_first = open_fds();
    }
    if (std::getenv("PROCTOR_SOAK_TRACE"))
      std::fprintf(stderr, "round %d: rss %ld KiB, fds %ld\n", round, rss_kib(), open_fds());
  }
  auto growth = 100.0 * double(rss_kib() - rss_first) / double(rss_first);
  std::printf("proctor.soak.rss_growth_pct %.1f %%\n", growth);
  std::printf("proctor.soak.fd_growth %ld fds\n", open_fds() - fds_first);
  std::fflush(stdout);
}
