// Mirrors the seed's square() example run in four processes at once: the
// whole run takes as long as the slowest child, not the sum.
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

int square(int n) {
  std::mt19937 gen{std::random_device{}()};
  int ms = std::uniform_int_distribution<int>{300, 500}(gen);
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  std::cout << "Sleep " << ms << " ms......\n" << n << " squared is " << n * n << std::endl;
  return 0;
}
PROCTOR_TASK(square);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  auto start = std::chrono::steady_clock::now();
  std::vector<proctor::process> ps;
  for (int i = 0; i < 4; ++i)
    ps.emplace_back(rt, square, 3);
  for (auto& p : ps)
    p.start();
  for (auto& p : ps)
    p.join();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - start);
  std::cout << "Execute time " << ms.count() << " ms (the slowest child, not the sum)\n";
}
