// The crash demo (what ../shared/anchors/py_crash.py does to Python): a map
// over 20 items where the task for 13 SIGKILLs its worker every time. Python's
// Pool hangs forever here; ProcessPoolExecutor fails nearly every task and
// is unusable afterwards. proctor's supervisor replaces the worker, retries
// the task twice, then fails that one task alone; the other 19 results come
// back and the pool keeps working.
#include <proctor/proctor.hpp>

#include <csignal>
#include <iostream>
#include <vector>

#include <unistd.h>

int square_unless_13(int x) {
  if (x == 13)
    ::kill(::getpid(), SIGKILL);
  return x * x;
}
PROCTOR_TASK(square_unless_13);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::pool pool{rt, {.processes = 4, .max_retries = 2}};
  std::vector<proctor::async_result<int>> results;
  for (int x = 0; x < 20; ++x)
    results.push_back(pool.apply_async(square_unless_13, x));
  int ok = 0;
  for (int x = 0; x < 20; ++x) {
    try {
      int value = results[x].get();
      std::cout << x << " -> " << value << std::endl;
      ++ok;
    } catch (const proctor::worker_died& e) {
      std::cout << x << " -> worker_died: " << e.what() << std::endl;
    }
  }
  std::cout << ok << " results, " << 20 - ok << " error" << std::endl;
  auto stats = pool.stats();
  std::cout << "worker restarts: " << stats.worker_restarts << std::endl;
  std::cout << "the pool still works: 7 * 7 = " << pool.apply(square_unless_13, 7) << std::endl;
  pool.close();
  pool.join();
}
