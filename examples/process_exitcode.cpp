// Mirrors the seed's Process syntax example: run_proc(name, age) exits with
// 12; is_alive, terminate and exitcode, including the -15 case.
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <thread>

void run_proc(std::string name, int age) {
  std::cout << "My name is " << name << " and my age is " << age << std::endl;
  proctor::exit(12);
}
PROCTOR_TASK(run_proc);

void work_forever() {
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds{1});
}
PROCTOR_TASK(work_forever);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::process p{rt, run_proc, "Alice", 18};
  p.start();
  p.join();
  std::cout << p.name() << " exitcode " << *p.exitcode() << std::endl; // 12

  proctor::process q{rt, work_forever};
  q.start();
  std::cout << "alive: " << std::boolalpha << q.is_alive() << std::endl;
  q.terminate();
  q.join();
  std::cout << "alive after terminate: " << q.is_alive() << ", exitcode "
            << *q.exitcode() << std::endl; // -15
}
