// Mirrors the seed's folder copy (copy_file tasks on Pool(3), each putting
// its file name into a Manager().Queue(), and the master drawing the
// progress): a queue handle is a plain task argument here, no manager
// needed. The source folder is made up front (the seed asks for its name),
// and the copy goes to "<folder>[副本]" as in the seed.
#include <proctor/proctor.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include <unistd.h>

namespace fs = std::filesystem;

void copy_file(proctor::queue<std::string> queue, std::string file_name, std::string source,
               std::string dest) {
  std::ifstream in{source + "/" + file_name, std::ios::binary};
  std::ofstream out{dest + "/" + file_name, std::ios::binary};
  char buf[1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0)
    out.write(buf, in.gcount());
  queue.put(file_name); // the name of a file that is copied
}
PROCTOR_TASK(copy_file);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  auto source = (fs::temp_directory_path() / ("proctor-copy-" + std::to_string(::getpid())))
                  .string();
  auto dest = source + "[副本]";
  fs::create_directories(source);
  fs::create_directories(dest);
  for (int i = 0; i < 10; ++i)
    std::ofstream{source + "/file" + std::to_string(i) + ".txt"}
      << std::string(1000 + 100 * i, 'a' + i);

  std::set<std::string> file_names;
  for (auto& entry : fs::directory_iterator{source})
    file_names.insert(entry.path().filename().string());
  proctor::queue<std::string> queue{rt};
  proctor::pool pool{rt, {.processes = 3}};
  for (auto& name : file_names)
    pool.apply_async(copy_file, queue, name, source, dest);
  pool.close();

  auto all = file_names.size();
  while (!file_names.empty()) {
    auto name = queue.get(std::chrono::seconds{60});
    file_names.erase(name);
    auto rate = static_cast<double>(all - file_names.size()) * 100 / static_cast<double>(all);
    std::printf("\r%.2f...(%s)%50s", rate, name.c_str(), "");
    std::fflush(stdout);
  }
  std::printf("\n");
  pool.join();

  std::size_t same = 0;
  for (auto& entry : fs::directory_iterator{source}) {
    auto copy = fs::path{dest} / entry.path().filename();
    if (fs::exists(copy) && fs::file_size(copy) == entry.file_size())
      ++same;
  }
  std::cout << "copied " << same << " of " << all << " files" << std::endl;
  fs::remove_all(source);
  fs::remove_all(dest);
}
