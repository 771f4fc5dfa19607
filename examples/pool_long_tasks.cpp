// Mirrors the seed's Pool program (p = Pool(4); p.apply_async(long_time_task,
// args=(i,)) for five tasks; p.close(); p.join()): tasks 0 to 3 start at
// once, task 4 waits for a free worker. The sleeps are shorter than the
// seed's random 0-3 s.
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include <unistd.h>

void long_time_task(int name) {
  std::cout << "Run task " << name << " (" << ::getpid() << ")..." << std::endl;
  auto start = std::chrono::steady_clock::now();
  std::mt19937 rng{std::random_device{}()};
  std::this_thread::sleep_for(std::chrono::milliseconds{rng() % 500});
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("Task %d runs %0.2f seconds.\n", name, took.count());
  std::fflush(stdout);
}
PROCTOR_TASK(long_time_task);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  std::cout << "Parent process " << ::getpid() << "." << std::endl;
  proctor::pool p{rt, {.processes = 4}};
  for (int i = 0; i < 5; ++i)
    p.apply_async(long_time_task, i);
  std::cout << "Waiting for all subprocesses done..." << std::endl;
  p.close();
  p.join();
  std::cout << "All subprocesses done." << std::endl;
}
