// Mirrors the seeds' distributed task_master: it serves a task queue and a
// result queue at an endpoint with a key (Python's BaseManager with
// address=(host, 5000), authkey=b'abc'), puts ten tasks, and collects the
// results that task_worker programs, on this host or others, put back.
//
//   PROCTOR_AUTHKEY=abc ./task_master [ENDPOINT] [TASKS]
//
// ENDPOINT defaults to tcp://0.0.0.0:5000 (every interface); the key must be
// the same on every host. Unlike Python's manager, nothing a worker sends is
// executed: it gets typed handles, and the key only admits it.
#include <proctor/proctor.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  if (std::getenv("PROCTOR_AUTHKEY") == nullptr) {
    std::cerr << "task_master: set PROCTOR_AUTHKEY, the same on every host\n";
    return 2;
  }
  std::string endpoint = argc > 1 ? argv[1] : "tcp://0.0.0.0:5000";
  int tasks = argc > 2 ? std::atoi(argv[2]) : 10;

  proctor::manager manager{rt, endpoint};
  proctor::queue<int> task_queue{rt};
  proctor::queue<std::string> result_queue{rt};
  manager.serve("task_queue", task_queue);
  manager.serve("result_queue", result_queue);
  std::cout << "Serving on " << manager.address() << std::endl;

  std::mt19937 random{std::random_device{}()};
  for (int i = 0; i < tasks; ++i) {
    int n = static_cast<int>(random() % 10000);
    std::cout << "Put task " << n << "..." << std::endl;
    task_queue.put(n);
  }
  std::cout << "Try get results..." << std::endl;
  try {
    for (int i = 0; i < tasks; ++i)
      std::cout << "Result: " << result_queue.get(std::chrono::seconds{60}) << std::endl;
  } catch (const proctor::queue_empty&) {
    std::cerr << "task_master: no result for 60 s; is a task_worker running?\n";
    return 1;
  }
  manager.shutdown();
  std::cout << "master exit." << std::endl;
}
