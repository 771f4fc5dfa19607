// The seed's folder copy as durable jobs: one job per file, keyed by the
// file's name, in a store beside the copy. Kill it halfway (Ctrl-C, kill
// -9, a power cut after the last commit) and run it again: the files whose
// job is done are not copied again, the rest are.
//
//   jobs_folder_copy                      copies a folder it makes, then cleans up
//   jobs_folder_copy SOURCE DEST [MS]     copies SOURCE into DEST (MS: a pause per
//                                         file, to have time to kill it)
//
// Prints "done N of M" each time more files are done, then
// "copied M of M files, K in this run".
#include <proctor/proctor.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Copies one file through a temporary name and renames it into place, so
/// that a copy cut short never looks whole. Returns the bytes copied.
std::uintmax_t copy_one(std::string source, std::string dest, std::string name, int pause_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{pause_ms});
  auto part = dest + "/." + name + ".part";
  fs::copy_file(source + "/" + name, part, fs::copy_options::overwrite_existing);
  fs::rename(part, dest + "/" + name);
  return fs::file_size(dest + "/" + name);
}
PROCTOR_TASK(copy_one);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  bool demo = argc < 3;
  std::string source, dest;
  int pause_ms = argc > 3 ? std::stoi(argv[3]) : 0;
  if (demo) {
    source = (fs::temp_directory_path() / ("proctor-jobs-copy-" + std::to_string(::getpid())))
               .string();
    dest = source + "[副本]";
    fs::create_directories(source);
    for (int i = 0; i < 10; ++i)
      std::ofstream{source + "/file" + std::to_string(i) + ".txt"}
        << std::string(1000 + 100 * i, 'a' + i);
  } else {
    source = argv[1];
    dest = argv[2];
  }
  fs::create_directories(dest);
  std::set<std::string> names;
  for (auto& entry : fs::directory_iterator{source})
    if (entry.is_regular_file())
      names.insert(entry.path().filename().string());

  std::size_t ran_here = 0;
  {
    proctor::jobs jobs{rt, {.store = dest + ".jobs.db", .pool = {.processes = 3}}};
    std::vector<std::uint64_t> ids;
    for (auto& name : names) {
      // The key makes a second run's submit the job of the first run.
      proctor::job_options once;
      once.key = "copy:" + name;
      ids.push_back(jobs.submit(once, copy_one, source, dest, name, pause_ms));
    }
    // Jobs already done before this run are not run again.
    std::set<std::uint64_t> done_before;
    for (auto id : ids)
      if (jobs.status(id).state == proctor::job_state::done)
        done_before.insert(id);
    std::size_t last = done_before.size();
    std::printf("done %zu of %zu\n", last, names.size());
    std::fflush(stdout);
    while (true) {
      auto c = jobs.counts();
      if (c.done != last) {
        last = c.done;
        std::printf("done %zu of %zu\n", last, names.size());
        std::fflush(stdout);
      }
      if (c.queued == 0 && c.running == 0)
        break;
      jobs.wait_idle(100ms);
    }
    ran_here = last - done_before.size();
    for (auto id : ids)
      try {
        jobs.result<std::uintmax_t>(id, 1s);
      } catch (const proctor::job_dead& e) {
        std::printf("not copied: %s\n", e.what()); // proctor-jobs retry ID runs it again
      }
  }

  std::size_t same = 0;
  for (auto& name : names)
    if (fs::exists(dest + "/" + name)
        && fs::file_size(dest + "/" + name) == fs::file_size(source + "/" + name))
      ++same;
  std::printf("copied %zu of %zu files, %zu in this run\n", same, names.size(), ran_here);
  if (demo) {
    fs::remove_all(source);
    fs::remove_all(dest);
    for (auto suffix : {"", "-wal", "-shm"})
      fs::remove(dest + ".jobs.db" + suffix);
  }
  return same == names.size() ? 0 : 1;
}
