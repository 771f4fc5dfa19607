#include "tests/support/subprocess.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transport/base/c_strings.hpp"

extern char** environ;

namespace proctor::testing {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string{base && *base ? base : "/tmp"} + "/proctor-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  return pattern;
}

subprocess::subprocess(const std::vector<std::string>& argv,
                       const std::vector<std::string>& env) {
  auto dir = make_temp_dir();
  out_path_ = dir + "/stdout";
  err_path_ = dir + "/stderr";
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e)
    env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  auto envp = proctor::internal::c_strings(env_storage);
  auto args = argv;
  auto argvp = proctor::internal::c_strings(args);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = ::posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argvp.data(),
                         envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error(std::string{"posix_spawn: "} + std::strerror(rc));
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

subprocess::~subprocess() {
  if (!exitcode_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (pidfd_ >= 0)
    ::close(pidfd_);
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path{out_path_}.parent_path(), ignored);
}

std::optional<int> subprocess::wait(std::chrono::milliseconds timeout) {
  if (exitcode_)
    return exitcode_;
  pollfd exited{pidfd_, POLLIN, 0};
  if (::poll(&exited, 1, static_cast<int>(timeout.count())) != 1)
    return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_)
    return std::nullopt;
  exitcode_ = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
  return exitcode_;
}

bool subprocess::wait_for_lines(std::size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_lines().size() < n) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

std::string subprocess::out() const {
  return read_file(out_path_);
}

std::string subprocess::err() const {
  return read_file(err_path_);
}

std::vector<std::string> subprocess::out_lines() const {
  std::vector<std::string> lines;
  std::stringstream text{out()};
  // Only whole lines: the last one may still be written.
  auto all = text.str();
  std::size_t start = 0;
  for (auto end = all.find('\n'); end != std::string::npos; end = all.find('\n', start)) {
    lines.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> helper_argv(const std::string& name,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv{std::filesystem::read_symlink("/proc/self/exe").string(),
                                "--helper", name};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool process_gone(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  if (!stat)
    return true;
  std::string text{std::istreambuf_iterator<char>{stat}, {}};
  auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'Z'
         || text[paren + 2] == 'X';
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> result;
  std::error_code ec;
  auto tasks = "/proc/" + std::to_string(pid) + "/task";
  for (auto& task : std::filesystem::directory_iterator{tasks, ec}) {
    std::ifstream children{task.path() / "children"};
    pid_t child;
    while (children >> child)
      result.push_back(child);
  }
  return result;
}

} // namespace proctor::testing
