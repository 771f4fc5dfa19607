// Mirrors the seed's writer/reader on a Pool (q = Manager().Queue();
// po.apply_async(writer, (q,)); time.sleep(1); po.apply_async(reader, (q,))):
// pool tasks take a queue handle as an argument like any value, so no
// manager process is needed. The reader waits for the writer's five items
// instead of sleeping a second and trusting qsize().
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <string>

#include <unistd.h>

void writer(proctor::queue<std::string> q) {
  std::cout << "writer started (" << ::getpid() << "), parent (" << ::getppid() << ")"
            << std::endl;
  for (char c : std::string{"hello"})
    q.put(std::string(1, c));
}
PROCTOR_TASK(writer);

void reader(proctor::queue<std::string> q) {
  std::cout << "reader started (" << ::getpid() << "), parent (" << ::getppid() << ")"
            << std::endl;
  for (int i = 0; i < 5; ++i)
    std::cout << "reader got from the queue: " << q.get(std::chrono::seconds{30}) << std::endl;
}
PROCTOR_TASK(reader);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  std::cout << "(" << ::getpid() << ") start" << std::endl;
  proctor::queue<std::string> q{rt};
  proctor::pool po{rt};
  po.apply_async(writer, q).get();
  po.apply_async(reader, q).get();
  po.close();
  po.join();
  std::cout << "(" << ::getpid() << ") End" << std::endl;
}
