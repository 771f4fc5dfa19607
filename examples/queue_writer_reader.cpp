// Mirrors the seed's Queue program (write/read, here writer/reader): the parent creates a queue and hands it
// to a writer process and a reader process. Python terminates its endless
// reader once the writer is done (and may lose what it had not printed yet);
// here the parent shuts the queue down instead, and the reader drains it
// and ends by itself.
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <random>
#include <string>
#include <thread>

void writer(proctor::queue<std::string> q) {
  std::cout << "Process to write: " << proctor::current_process().pid << std::endl;
  std::mt19937 random{std::random_device{}()};
  for (std::string value : {"A", "B", "C"}) {
    std::cout << "Put " << value << " to queue..." << std::endl;
    q.put(value);
    std::this_thread::sleep_for(std::chrono::milliseconds{random() % 300});
  }
}
PROCTOR_TASK(writer);

void reader(proctor::queue<std::string> q) {
  std::cout << "Process to read: " << proctor::current_process().pid << std::endl;
  try {
    for (;;) {
      auto value = q.get();
      std::cout << "Get " << value << " from queue." << std::endl;
    }
  } catch (const proctor::error& e) {
    if (e.code() != proctor::errc::closed)
      throw;
  }
}
PROCTOR_TASK(reader);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::queue<std::string> q{rt};
  proctor::process pw{rt, writer, q};
  proctor::process pr{rt, reader, q};
  pw.start();
  pr.start();
  pw.join();
  q.shutdown(); // no more puts: the reader ends once it has read everything
  pr.join();
}
