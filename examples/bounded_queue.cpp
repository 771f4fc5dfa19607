// Backpressure across processes: a fast producer and a slow consumer share a
// queue that holds two items. The producer runs at most two items ahead;
// nothing piles up in memory. (Python's Queue(maxsize) blocks put() the
// same way, but only between processes that inherited the queue.)
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <thread>

void produce(proctor::queue<int> q, proctor::queue<std::string> log) {
  for (int i = 1; i <= 6; ++i) {
    q.put(i, std::chrono::seconds{30}); // a timed put answers only once it is in
    log.put("put " + std::to_string(i));
  }
}
PROCTOR_TASK(produce);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::queue<int> q{rt, 2};
  proctor::queue<std::string> log{rt};
  proctor::process producer{rt, produce, q, log};
  producer.start();
  for (int i = 1; i <= 6; ++i) {
    // Let the producer fill the queue, then show how far it got.
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    while (true) {
      try {
        std::cout << log.get_nowait() << std::endl;
      } catch (const proctor::queue_empty&) {
        break;
      }
    }
    std::cout << "queue holds " << q.qsize() << ", got " << q.get() << std::endl;
  }
  producer.join();
}
