#pragma once

// What the benchmarks share: timing, the `proctor.NAME value unit` line, and
// the apply_async throughput measured as ../shared/anchors/py_pool.py does.
#include <proctor/proctor.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

inline void print(const char* name, double value, const char* unit) {
  std::printf("proctor.%s %.1f %s\n", name, value, unit);
  std::fflush(stdout);
}

/// Tasks per second for `n` apply_async calls of `fn(i)`, all submitted
/// before the first result is awaited.
inline double apply_async_per_s(proctor::pool& p, int (*fn)(int), int n = 20000) {
  auto t = clock_type::now();
  std::vector<proctor::async_result<int>> rs;
  rs.reserve(n);
  for (int i = 0; i < n; ++i)
    rs.push_back(p.apply_async(fn, i));
  for (auto& r : rs)
    r.get();
  return n / seconds_since(t);
}

} // namespace bench
