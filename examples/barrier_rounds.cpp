// Three worker processes compute in rounds and meet at a proctor::barrier
// after each one; the barrier's action, run once per round by the last to
// arrive, announces the round.
#include <proctor/proctor.hpp>

#include <iostream>

void round_done(int parties) {
  std::cout << "all " << parties << " workers finished a round" << std::endl;
}
PROCTOR_TASK(round_done);

void worker(proctor::barrier barrier, int id) {
  for (int round = 1; round <= 2; ++round) {
    std::cout << "worker " << id << " computed round " << round << std::endl;
    barrier.wait();
  }
}
PROCTOR_TASK(worker);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::barrier barrier{rt, 3, proctor::call(round_done, 3)};
  proctor::process w1{rt, worker, barrier, 1};
  proctor::process w2{rt, worker, barrier, 2};
  proctor::process w3{rt, worker, barrier, 3};
  w1.start();
  w2.start();
  w3.start();
  w1.join();
  w2.join();
  w3.join();
  std::cout << "exit codes " << *w1.exitcode() << " " << *w2.exitcode() << " "
            << *w3.exitcode() << std::endl;
}
