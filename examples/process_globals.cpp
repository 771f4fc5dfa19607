// Mirrors the seed's "processes do not share global variables" example: the
// child appends to its copy of a global list; the parent's stays unchanged.
#include <proctor/proctor.hpp>

#include <iostream>
#include <vector>

std::vector<int> numbers{11, 22};

void add_numbers() {
  numbers.push_back(33);
  std::cout << "child sees " << numbers.size() << " numbers" << std::endl;
}
PROCTOR_TASK(add_numbers);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::process p{rt, add_numbers};
  p.start();
  p.join();
  std::cout << "parent sees " << numbers.size() << " numbers" << std::endl;
}
