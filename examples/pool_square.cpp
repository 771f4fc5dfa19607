// Mirrors the seed's Pool methods program: square() through apply,
// apply_async (the result objects, then their values), apply_async with a
// callback, and map over [2, 4, 6, 8, 10].
#include <proctor/proctor.hpp>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <vector>

int square(int x) {
  return x * x;
}
PROCTOR_TASK(square);

void print(const char* label, const std::vector<int>& xs) {
  std::cout << label << " [";
  for (std::size_t i = 0; i < xs.size(); ++i)
    std::cout << (i ? ", " : "") << xs[i];
  std::cout << "]" << std::endl;
}

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::pool pool{rt};

  std::vector<int> applied;
  for (int n = 0; n < 5; ++n)
    applied.push_back(pool.apply(square, n));
  print("apply:", applied);

  std::vector<proctor::async_result<int>> pending;
  for (int n = 0; n < 5; ++n)
    pending.push_back(pool.apply_async(square, n));
  std::vector<int> gathered;
  for (auto& r : pending)
    gathered.push_back(r.get());
  print("apply_async:", gathered);

  // Callbacks run on the pool's thread, one at a time, in completion order.
  std::mutex mtx;
  std::vector<int> called_back;
  for (int n = 0; n < 5; ++n)
    pool.apply_async(proctor::callbacks{[&](int x) {
                                          std::lock_guard<std::mutex> guard{mtx};
                                          called_back.push_back(x);
                                        },
                                        [](const proctor::error& e) {
                                          std::cerr << "failed: " << e.what() << std::endl;
                                        }},
                     square, n);

  print("map:", pool.map(square, std::vector<int>{2, 4, 6, 8, 10}));
  pool.close();
  pool.join();
  std::sort(called_back.begin(), called_back.end());
  print("callbacks:", called_back);
}
