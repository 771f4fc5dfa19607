// An application outside proctor's tree, built against the installed package.
#include <proctor/errc.hpp>

#include <iostream>

int main() {
  std::error_code ec = proctor::errc::frame_too_large;
  std::cout << "consumer: " << ec.category().name() << ' ' << ec.message() << '\n';
  return ec.message() == "frame_too_large" ? 0 : 1;
}
