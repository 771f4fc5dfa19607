// Mirrors the seed's Pipe program (conn1, conn2 = multiprocessing.Pipe()):
// two processes sit at the two ends of a duplex pipe, and each sends and
// receives. Then Pipe(duplex=False): conn1 only receives, conn2 only sends
// (here the wrong call does not compile). The pipe is a socket straight
// between the two processes.
#include <proctor/proctor.hpp>

#include <iostream>
#include <string>

// The child's end: answers every message until the parent closes its end.
void child(proctor::pipe_end<std::string> conn) {
  try {
    for (;;) {
      auto message = conn.recv();
      std::cout << "child received: " << message << std::endl;
      conn.send("echo of " + message);
    }
  } catch (const proctor::end_of_pipe&) {
    std::cout << "child: the parent closed its end" << std::endl;
  }
}
PROCTOR_TASK(child);

void count_to(proctor::pipe_writer<int> conn2, int n) {
  for (int i = 1; i <= n; ++i)
    conn2.send(i);
} // the process ends, and with it this end of the pipe
PROCTOR_TASK(count_to);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};

  auto [conn1, conn2] = proctor::pipe<std::string>(rt);
  proctor::process p{rt, child, conn2};
  p.start();
  for (std::string message : {"hello", "world"}) {
    conn1.send(message);
    std::cout << "parent received: " << conn1.recv() << std::endl;
  }
  conn1.close();
  p.join();

  auto [in, out] = proctor::pipe<int>(rt, proctor::one_way);
  proctor::process counter{rt, count_to, out, 3};
  counter.start();
  try {
    for (;;) {
      int number = in.recv();
      std::cout << "parent received " << number << std::endl;
    }
  } catch (const proctor::end_of_pipe&) {
    std::cout << "the writer is done" << std::endl;
  }
  counter.join();
}
