// Mirrors the seeds' distributed task_worker: it connects to a task_master
// (Python's BaseManager.connect() with the same authkey), takes tasks until
// the task queue stays empty for a second, and puts each result back.
//
//   PROCTOR_AUTHKEY=abc ./task_worker [ENDPOINT]
//
// ENDPOINT defaults to tcp://127.0.0.1:5000; on another host, name the
// master's host: tcp://master.example:5000.
#include <proctor/proctor.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  if (std::getenv("PROCTOR_AUTHKEY") == nullptr) {
    std::cerr << "task_worker: set PROCTOR_AUTHKEY, the same on every host\n";
    return 2;
  }
  std::string endpoint = argc > 1 ? argv[1] : "tcp://127.0.0.1:5000";
  std::cout << "Connect to server " << endpoint << "..." << std::endl;
  try {
    proctor::manager_client manager{rt, endpoint};
    auto task = manager.get<proctor::queue<int>>("task_queue");
    auto result = manager.get<proctor::queue<std::string>>("result_queue");
    bool master_gone = false;
    for (;;) {
      int n = 0;
      try {
        n = task.get(std::chrono::seconds{1});
      } catch (const proctor::queue_empty&) {
        std::cout << "task queue is empty." << std::endl;
        break;
      } catch (const proctor::error& e) {
        if (e.code() != proctor::errc::owner_gone)
          throw;
        std::cout << "the master has shut down." << std::endl;
        master_gone = true;
        break;
      }
      std::cout << "run task " << n << " * " << n << "..." << std::endl;
      result.put(std::to_string(n) + " * " + std::to_string(n) + " = "
                 + std::to_string(static_cast<long long>(n) * n));
    }
    // put() pipelines: wait until every result is in the master's queue
    // (unless the master, which shuts down once it has them all, is gone).
    if (!master_gone) {
      result.close();
      result.join_thread();
    }
  } catch (const proctor::error& e) {
    std::cerr << "task_worker: " << e.what() << "\n";
    return 1;
  }
  std::cout << "worker done." << std::endl;
}
