// Mirrors the seed's subprocess programs: `subprocess.call(['nslookup',
// 'www.python.org'])`, then `Popen(...).communicate(input)` feeding a child
// its stdin and reading its stdout. The seed's nslookup needs the network;
// this runs tools every Debian machine has, so it works offline. Boost.Process
// does the fork/exec and the pipes.
#include <boost/process.hpp>

#include <iostream>
#include <string>

namespace bp = boost::process;

int main() {
  std::cout << "$ uname -s" << std::endl;
  int code = bp::system(bp::search_path("uname"), "-s");
  std::cout << "Exit code: " << code << std::endl;

  std::cout << "$ sort" << std::endl;
  bp::opstream input;
  bp::ipstream output;
  bp::child sorter{bp::search_path("sort"), bp::std_in < input, bp::std_out > output};
  input << "set q=mx\npython.org\nexit\n";
  input.flush();
  input.pipe().close(); // communicate(): end of input
  for (std::string line; std::getline(output, line);)
    std::cout << line << '\n';
  sorter.wait();
  std::cout << "Exit code: " << sorter.exit_code() << std::endl;
}
