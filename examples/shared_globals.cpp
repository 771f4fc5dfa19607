// The seed's "processes do not share global variables" example, with the
// explicit mechanism it names: shared memory. nums and n live in a
// shared_array and a shared_value, so what the child writes, the parent
// and a second child see.
#include <proctor/proctor.hpp>

#include <iostream>
#include <string>
#include <unistd.h>

std::string show(proctor::shared_array<int>& nums, std::size_t used) {
  auto all = nums.snapshot();
  std::string out = "[";
  for (std::size_t i = 0; i < used; ++i)
    out += (i == 0 ? "" : ", ") + std::to_string(all[i]);
  return out + "]";
}

void work1(proctor::shared_array<int> nums, proctor::shared_value<int> n) {
  n.set(100);
  for (int i = 0; i < 3; ++i)
    nums.store(2 + i, i);
  std::cout << "in process1 pid=" << ::getpid() << ", nums=" << show(nums, 5)
            << ", n=" << n.value() << std::endl;
}
PROCTOR_TASK(work1);

void work2(proctor::shared_array<int> nums, proctor::shared_value<int> n) {
  std::cout << "in process2 pid=" << ::getpid() << ", nums=" << show(nums, 5)
            << ", n=" << n.value() << std::endl;
}
PROCTOR_TASK(work2);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::shared_array<int> nums{rt, 5};
  nums.store(0, 11);
  nums.store(1, 22);
  proctor::shared_value<int> n{rt, 10};
  proctor::process p1{rt, work1, nums, n};
  p1.start();
  p1.join();
  std::cout << "--------------------------------------------------" << std::endl;
  proctor::process p2{rt, work2, nums, n};
  p2.start();
  p2.join();
  std::cout << "in parent, nums=" << show(nums, 5) << ", n=" << n.value() << std::endl;
}
