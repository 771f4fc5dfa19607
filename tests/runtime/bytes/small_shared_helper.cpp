// small_shared: run with --proctor.max-shared-size=262144. Values larger
// than a peer takes as shared memory travel inline instead, whole: a pool
// result (lent memory), a pool argument and a queue item. Prints one line
// per check: "NAME ok" or "NAME failed: WHY".
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "proctor/bytes.hpp"
#include "proctor/pool.hpp"
#include "proctor/queue.hpp"
#include "proctor/runtime.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto limit = 30s;
/// Over the 256 KiB limit, under the frame limit.
constexpr std::size_t large = 300000;

proctor::bytes ss_made(std::size_t n) {
  proctor::byte_buffer out{n};
  std::memset(out.data(), 's', n);
  return out.freeze();
}
PROCTOR_TASK(ss_made);

std::size_t ss_count(proctor::bytes b) {
  std::size_t n = 0;
  for (auto c : b.view())
    n += c == 's' ? 1 : 0;
  return n;
}
PROCTOR_TASK(ss_count);

void ss_put(proctor::queue<proctor::bytes> q, std::size_t n) {
  q.put(ss_made(n));
}
PROCTOR_TASK(ss_put);

template <class F>
void check(const char* name, F f) {
  try {
    std::printf("%s %s\n", name, f() ? "ok" : "failed: wrong answer");
  } catch (const proctor::error& e) {
    std::printf("%s failed: %s %s\n", name, proctor::to_string(e.code()), e.what());
  }
  std::fflush(stdout);
}

} // namespace

namespace proctor::testing {

int small_shared_helper(runtime& rt, const std::vector<std::string>&) {
  proctor::pool p{rt, {.processes = 1}};
  check("pool_result", [&] {
    auto r = p.apply_async(ss_made, large).get(limit);
    return r.size() == large && ss_count(r) == large;
  });
  check("pool_argument", [&] {
    return p.apply_async(ss_count, ss_made(large)).get(limit) == large;
  });
  check("queue_item", [&] {
    proctor::queue<proctor::bytes> q{rt};
    p.apply_async(ss_put, q, large).get(limit);
    return ss_count(q.get(limit)) == large;
  });
  check("small_ones_still_shared", [&] {
    auto r = p.apply_async(ss_made, std::size_t{100000}).get(limit);
    return r.shared() && ss_count(r) == 100000;
  });
  return 0;
}

} // namespace proctor::testing
