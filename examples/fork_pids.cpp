// Mirrors the seed's os.fork() example: each side prints its pid and the
// other's. proctor starts the child by spawning, not forking, so it is safe
// in a multi-threaded program.
#include <proctor/proctor.hpp>

#include <iostream>

void child() {
  std::cout << "I am child process (" << proctor::current_process().pid
            << ") and my parent is " << proctor::parent_pid() << '.' << std::endl;
}
PROCTOR_TASK(child);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  std::cout << "Process (" << proctor::current_process().pid << ") start..." << std::endl;
  proctor::process p{rt, child};
  p.start();
  std::cout << "I (" << proctor::current_process().pid << ") just created a child process ("
            << p.pid() << ")." << std::endl;
  p.join();
}
