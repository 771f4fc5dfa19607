// Mirrors the seed's Lock program (change_it() guarded by a lock so that the
// balance stays right), with processes instead of threads: each adds and
// subtracts the same amount on a balance kept in a file, under a
// proctor::lock. Without the lock the read-modify-write cycles interleave.
#include <proctor/proctor.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

void run_thread(proctor::lock lock, std::string path, int n) {
  for (int i = 0; i < 200; ++i) {
    std::lock_guard<proctor::lock> guard{lock};
    long balance = 0;
    std::ifstream{path} >> balance;
    std::ofstream{path} << balance + n; // deposit ...
  }
  for (int i = 0; i < 200; ++i) {
    std::lock_guard<proctor::lock> guard{lock};
    long balance = 0;
    std::ifstream{path} >> balance;
    std::ofstream{path} << balance - n; // ... and take it back
  }
}
PROCTOR_TASK(run_thread);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  auto path = "/tmp/proctor-balance-" + std::to_string(proctor::current_process().pid);
  std::ofstream{path} << 0;
  proctor::lock lock{rt};
  proctor::process t1{rt, run_thread, lock, path, 5};
  proctor::process t2{rt, run_thread, lock, path, 8};
  t1.start();
  t2.start();
  t1.join();
  t2.join();
  long balance = -1;
  std::ifstream{path} >> balance;
  std::remove(path.c_str());
  std::cout << "balance " << balance << std::endl;
}
