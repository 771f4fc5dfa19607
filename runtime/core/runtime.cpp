#include "proctor/runtime.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <mutex>
#include <vector>

#include <openssl/rand.h>
#include <fcntl.h>
#include <signal.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "actors/errors.hpp"
#include "runtime/process/forkserver.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/log.hpp"

namespace proctor {

namespace {

std::string read_key_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::string key{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (!in.good() && !in.eof())
    throw error(errc::bad_argument, "proctor: cannot read the authkey file " + path);
  if (!key.empty() && key.back() == '\n')
    key.pop_back();
  if (key.empty())
    throw error(errc::bad_argument, "proctor: the authkey file " + path + " is empty");
  return key;
}

/// The authkey: --proctor.authkey-file, PROCTOR_AUTHKEY, or random.
std::string master_key(int argc, char** argv) {
  constexpr std::string_view flag = "--proctor.authkey-file=";
  for (int i = 1; i < argc; ++i)
    if (std::string_view arg{argv[i]}; arg.starts_with(flag))
      return read_key_file(std::string{arg.substr(flag.size())});
  if (const char* key = std::getenv("PROCTOR_AUTHKEY"); key != nullptr && *key != '\0')
    return key;
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw error(errc::spawn_failed, "proctor: cannot make an authkey");
  return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

int take_env_int(const char* name) {
  const char* text = std::getenv(name);
  int value = text ? std::atoi(text) : -1;
  ::unsetenv(name);
  return value;
}

std::string read_key(int fd) {
  std::string key;
  char buf[512];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    key.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return key;
}

} // namespace

namespace {

runtime* current_instance = nullptr;

} // namespace

runtime::runtime(int argc, char** argv) {
  const char* role_text = std::getenv(internal::role_env);
  std::string_view role = role_text ? role_text : "";
  if (role != "worker" && role != "forkserver") {
    impl_ = std::make_unique<internal::runtime_impl>(argc, argv, master_key(argc, argv),
                                                     internal::process_role::master);
    current_instance = this;
    // A node: serves its master until it gives up, and never returns.
    if (!impl_->join_endpoint().empty())
      proctor::exit(impl_->run_node());
    return;
  }
  // A worker: children of ours must not take themselves for workers too.
  ::unsetenv(internal::role_env);
  auto parent = static_cast<pid_t>(take_env_int(internal::parent_pid_env));
  int link_fd = take_env_int(internal::link_fd_env);
  int key_fd = take_env_int(internal::key_fd_env);
  // Die with the parent, even by SIGKILL; the check closes the race with a
  // parent that died before prctl.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent || link_fd < 0 || key_fd < 0)
    ::_exit(1);
  auto key = read_key(key_fd);
  // One malloc arena for all of a worker's threads instead of one each:
  // a worker has a few busy threads at most, and every arena stays resident.
  ::mallopt(M_ARENA_MAX, 1);
  if (role == "forkserver") {
    if (std::getenv(internal::unset_bind_now_env) != nullptr) {
      ::unsetenv("LD_BIND_NOW");
      ::unsetenv(internal::unset_bind_now_env);
    }
    link_fd = internal::serve_forks(link_fd, parent); // returns in a new worker
  }
  ::fcntl(link_fd, F_SETFD, FD_CLOEXEC);
  impl_ = std::make_unique<internal::runtime_impl>(argc, argv, std::move(key),
                                                     internal::process_role::worker);
  current_instance = this;
  // The target returned (or threw): the handlers it registered with
  // proctor::at_exit run, then the process ends. Nothing of the
  // application's main after this constructor runs in a worker.
  proctor::exit(impl_->run_worker(link_fd, parent));
}

runtime::~runtime() {
  run_exit_handlers();
  impl_.reset();
  current_instance = nullptr;
}

namespace internal {

runtime_impl& impl_of(runtime& rt) noexcept {
  return *rt.impl_;
}

} // namespace internal

runtime& runtime::current() {
  if (current_instance == nullptr || !current_instance->impl_)
    throw error(errc::invalid_state, "proctor: no proctor::runtime in this process yet");
  return *current_instance;
}

caf::actor_system& runtime::system() {
  return impl_->system();
}

std::string runtime::listen(const std::string& endpoint) {
  return impl_->listen(endpoint);
}

void runtime::publish_handle(caf::strong_actor_ptr actor, const std::string& name) {
  impl_->publish(std::move(actor), name);
}

caf::strong_actor_ptr runtime::remote_handle(const std::string& endpoint,
                                             const std::string& name,
                                             std::chrono::milliseconds timeout) {
  return impl_->remote_actor(endpoint, name, timeout);
}

caf::strong_actor_ptr runtime::spawn_registered(const std::string& name,
                                                const std::string& args) {
  auto child = impl_->start_child(false, "ActorHost-" + name);
  return impl_->spawn_in(*child, name, args);
}

namespace {

std::mutex& exit_handlers_mutex() {
  static std::mutex instance;
  return instance;
}

/// This process's proctor::at_exit handlers, in registration order. A
/// worker starts with none: the fork server registers none (Python's
/// forkserver clears what its children would inherit, too).
std::vector<std::function<void()>>& exit_handlers() {
  static std::vector<std::function<void()>> instance;
  return instance;
}

} // namespace

void at_exit(std::function<void()> handler) {
  std::lock_guard<std::mutex> guard{exit_handlers_mutex()};
  exit_handlers().push_back(std::move(handler));
}

void run_exit_handlers() {
  for (;;) {
    std::function<void()> next;
    {
      std::lock_guard<std::mutex> guard{exit_handlers_mutex()};
      if (exit_handlers().empty())
        return;
      next = std::move(exit_handlers().back()); // the last registered first
      exit_handlers().pop_back();
    }
    try {
      next();
    } catch (const std::exception& e) {
      internal::log("runtime", log_level::error, "an exit handler threw: ", e.what());
    } catch (...) {
      internal::log("runtime", log_level::error, "an exit handler threw");
    }
  }
}

void exit(int code) {
  run_exit_handlers();
  if (auto* rt = internal::current_runtime())
    rt->flush_links();
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(code);
}

process_info current_process() {
  auto* rt = internal::current_runtime();
  return {rt ? rt->process_name : std::string{"MainProcess"}, static_cast<int>(::getpid())};
}

int parent_pid() {
  return static_cast<int>(::getppid());
}

int cpu_count() {
  auto n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

std::optional<int> exitcode_of(const caf::error& reason) {
  if (!reason || reason.category() != internal::error_category)
    return std::nullopt;
  auto code = static_cast<errc>(reason.code());
  if (code != errc::process_exited && code != errc::process_killed)
    return std::nullopt;
  auto& context = reason.context();
  if (context.size() == 2 && context.match_element<int>(1))
    return context.get_as<int>(1);
  return std::nullopt;
}

} // namespace proctor
