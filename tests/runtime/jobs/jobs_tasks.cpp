#include "tests/runtime/jobs/jobs_tasks.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "proctor/task.hpp"

namespace proctor::testing {

void log_job_line(const std::string& log, const std::string& line) {
  auto fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error{"cannot open the jobs log"};
  auto text = line + "\n";
  auto written = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()))
    throw std::runtime_error{"cannot write the jobs log"};
}

int jt_square(int n) {
  return n * n;
}

int jt_record(int n) {
  std::this_thread::sleep_for(std::chrono::microseconds{500});
  if (auto* log = std::getenv("PROCTOR_TEST_JOBS_LOG"))
    log_job_line(log, std::to_string(n));
  return n * n;
}

int jt_always_fails(std::string log, int) {
  log_job_line(log, "fails");
  throw std::runtime_error{"always fails"};
}

int jt_flaky(std::string marker, int needed) {
  {
    std::ofstream out{marker, std::ios::app};
    out << 'x';
  }
  if (std::filesystem::file_size(marker) < static_cast<std::uintmax_t>(needed))
    throw std::runtime_error{"not yet"};
  return needed;
}

void jt_sleep(std::string log, int ms) {
  log_job_line(log, "sleep " + std::to_string(ms));
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
}

void jt_note(std::string log, std::string name) {
  log_job_line(log, name);
}

proctor::bytes jt_made(std::size_t n) {
  proctor::byte_buffer out{n};
  std::memset(out.data(), 'j', n);
  return out.freeze();
}

int jt_unregistered(int n) {
  return n;
}

PROCTOR_TASK(jt_square);
PROCTOR_TASK(jt_record);
PROCTOR_TASK(jt_always_fails);
PROCTOR_TASK(jt_flaky);
PROCTOR_TASK(jt_sleep);
PROCTOR_TASK(jt_note);
PROCTOR_TASK(jt_made);

} // namespace proctor::testing
