// Helper programs for the Manager's tests, each the test binary started
// again as a separate master:
//   manager_server       serves the objects below on the loopback (the key
//                        comes from PROCTOR_AUTHKEY), prints its
//                        address, shuts the manager down once "stop" is set,
//                        prints "shut down", and lives on (at most a minute)
//   manager_worker ENDPOINT KEY
//                        the seed's task_worker: takes ints from "tasks"
//                        until a -1, puts "n * n = m" into "results", counts
//                        in "counts" and "hits"; exits 0, or 2 on an error
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "proctor/manager.hpp"
#include "proctor/runtime.hpp"

namespace proctor::testing {

using namespace std::chrono_literals;

int manager_server_helper(runtime& rt, const std::vector<std::string>&) {
  manager m{rt, "tcp://127.0.0.1:0"};
  queue<int> tasks{rt};
  queue<std::string> results{rt};
  joinable_queue<int> jobs{rt};
  dict<std::string, int> counts{rt};
  value<int> hits{rt, 0};
  process_lock lock{rt};
  process_event stop{rt};
  m.serve("tasks", tasks);
  m.serve("results", results);
  m.serve("jobs", jobs);
  m.serve("counts", counts);
  m.serve("hits", hits);
  m.serve("lock", lock);
  m.serve("stop", stop);
  std::printf("%s\n", m.address().c_str());
  std::fflush(stdout);
  if (!stop.wait(60s))
    return 1;
  m.shutdown();
  std::printf("shut down\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(60s);
  return 1;
}

int manager_worker_helper(runtime& rt, const std::vector<std::string>& args) {
  try {
    manager_client client{rt, args.at(0), {.authkey = args.at(1)}};
    auto tasks = client.get<queue<int>>("tasks");
    auto results = client.get<queue<std::string>>("results");
    auto counts = client.get<dict<std::string, int>>("counts");
    auto hits = client.get<value<int>>("hits");
    for (;;) {
      int n = tasks.get(30s);
      if (n < 0)
        break;
      results.put(std::to_string(n) + " * " + std::to_string(n) + " = "
                  + std::to_string(n * n));
      counts.update(n % 2 == 0 ? "even" : "odd",
                    [](std::optional<int> c) { return c.value_or(0) + 1; });
      hits.update([](int h) { return h + 1; });
    }
    results.close();
    results.join_thread();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "manager_worker: %s\n", e.what());
    return 2;
  }
}

} // namespace proctor::testing
