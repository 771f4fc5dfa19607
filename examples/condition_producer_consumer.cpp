// A producer and two consumers around a proctor::condition, in Python's
// style: the shared state (a stock count, kept in a file as lock_counter
// keeps its balance) changes only under the condition's lock; consumers
// wait_for() stock, the producer adds one item at a time and notifies.
#include <proctor/proctor.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

long read_stock(const std::string& path) {
  long stock = 0;
  std::ifstream{path} >> stock;
  return stock;
}

void write_stock(const std::string& path, long stock) {
  std::ofstream{path} << stock;
}

// Takes `n` items, one at a time, as they come.
void consumer(proctor::condition cond, std::string path, std::string name, int n) {
  for (int i = 0; i < n; ++i) {
    std::lock_guard<proctor::condition> guard{cond};
    cond.wait_for([&] { return read_stock(path) > 0; });
    write_stock(path, read_stock(path) - 1);
    std::cout << name << " took an item" << std::endl;
  }
}
PROCTOR_TASK(consumer);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  auto path = "/tmp/proctor-stock-" + std::to_string(proctor::current_process().pid);
  write_stock(path, 0);
  proctor::condition cond{rt};
  proctor::process a{rt, consumer, cond, path, std::string{"consumer-1"}, 3};
  proctor::process b{rt, consumer, cond, path, std::string{"consumer-2"}, 3};
  a.start();
  b.start();
  for (int i = 1; i <= 6; ++i) {
    std::lock_guard<proctor::condition> guard{cond};
    write_stock(path, read_stock(path) + 1);
    std::cout << "produced item " << i << std::endl;
    cond.notify();
  }
  a.join();
  b.join();
  std::cout << "stock left " << read_stock(path) << std::endl;
  std::remove(path.c_str());
}
