// Mirrors the seed's first Process program (run_proc: start one child, join
// it, print the child's and the parent's pids).
#include <proctor/proctor.hpp>

#include <iostream>

void run_proc(std::string name) {
  std::cout << "Run child process " << name << " (" << proctor::current_process().pid
            << ") and parent process is (" << proctor::parent_pid() << ")." << std::endl;
}
PROCTOR_TASK(run_proc);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  std::cout << "Parent process " << proctor::current_process().pid << '.' << std::endl;
  proctor::process p{rt, run_proc, "test"};
  std::cout << "Child process will start." << std::endl;
  p.start();
  p.join();
  std::cout << "Child process end." << std::endl;
}
