// Helper modes: the test binary started again as a separate master
// (`proctor_tests --helper NAME ARGS...`), for tests that need a second
// program of the same binary, or a master they can kill.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/bytes.hpp"
#include "proctor/listener.hpp"
#include "proctor/process.hpp"
#include "proctor/registry.hpp"
#include "proctor/runtime.hpp"
#include "proctor/shared_memory.hpp"
#include "tests/support/subprocess.hpp"

namespace {

using namespace std::chrono_literals;

void helper_sleeps(int seconds) {
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
}
PROCTOR_TASK(helper_sleeps);

// Filled before the handler is installed: a signal handler may only make
// async-signal-safe calls (open, write, close, _exit).
char terminated_path[4096];

void on_sigterm(int) {
  int fd = ::open(terminated_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, "SIGTERM\n", 8);
    ::close(fd);
  }
  ::_exit(0);
}

void helper_daemon(std::string dir) {
  std::snprintf(terminated_path, sizeof terminated_path, "%s/terminated", dir.c_str());
  std::signal(SIGTERM, on_sigterm);
  std::ofstream{dir + "/daemon_ready"} << "ready\n";
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(helper_daemon);

void helper_finishes_late(std::string dir) {
  std::this_thread::sleep_for(200ms);
  std::ofstream{dir + "/joined"} << "joined\n";
}
PROCTOR_TASK(helper_finishes_late);

caf::behavior helper_idle(caf::event_based_actor*) {
  return {[](int x) { return x; }};
}
PROCTOR_ACTOR(helper_idle);

bool wait_for_file(const std::string& path, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// connect ENDPOINT NAME: asks the published actor for 41 + 1; prints the
// answer or the error code's name.
int connect_helper(proctor::runtime& rt, const std::vector<std::string>& args) {
  try {
    auto server = rt.remote_actor(args.at(0), args.at(1), 10s);
    caf::scoped_actor self{rt.system()};
    int code = 4;
    self->request(server, std::chrono::seconds{10}, 41)
      .receive(
        [&](int x) {
          std::printf("reply %d\n", x);
          code = 0;
        },
        [&](caf::error& err) { std::printf("failed %s\n", rt.system().render(err).c_str()); });
    return code;
  } catch (const proctor::error& e) {
    std::printf("error %s\n", proctor::to_string(e.code()));
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
}

// send_bytes ENDPOINT: sends 1 MiB of proctor::bytes (shared memory here)
// to the "bytes" actor at ENDPOINT; prints "reply TEXT".
int send_bytes_helper(proctor::runtime& rt, const std::vector<std::string>& args) {
  try {
    auto server = rt.remote_actor(args.at(0), "bytes", 10s);
    caf::scoped_actor self{rt.system()};
    proctor::bytes payload{std::string(1 << 20, 't')};
    int code = 4;
    self->request(server, std::chrono::seconds{10}, payload)
      .receive(
        [&](std::string& text) {
          std::printf("reply %s\n", text.c_str());
          code = 0;
        },
        [&](caf::error& err) { std::printf("failed %s\n", rt.system().render(err).c_str()); });
    return code;
  } catch (const proctor::error& e) {
    std::printf("error %s\n", proctor::to_string(e.code()));
    return 3;
  }
}

// watch ENDPOINT NAME [--proctor flags]: monitors the published actor;
// prints "linked", then "down REASON" when it goes, and exits 0 (at most a
// minute).
int watch_helper(proctor::runtime& rt, const std::vector<std::string>& args) {
  try {
    auto server = rt.remote_actor(args.at(0), args.at(1), 10s);
    caf::scoped_actor self{rt.system()};
    self->monitor(server);
    std::printf("linked\n");
    std::fflush(stdout);
    int code = 4;
    self->receive([&](caf::down_msg& down) {
                    std::printf("down %s\n", rt.system().render(down.reason).c_str());
                    code = 0;
                  },
                  caf::after(60s) >> [] { std::printf("no down\n"); });
    std::fflush(stdout);
    return code;
  } catch (const proctor::error& e) {
    std::printf("error %s\n", proctor::to_string(e.code()));
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
}

// serve [ENDPOINT]: publishes an actor as "idle" and registers another as
// "registered", listens on ENDPOINT (TCP on the loopback by default),
// prints the endpoint bound and serves until killed (at most a minute).
int serve_helper(proctor::runtime& rt, const std::vector<std::string>& args) {
  // An argument, because CAF 0.17 spawns a function without one through a
  // null shared_ptr (UBSan rejects it).
  auto adds = [](caf::event_based_actor*, int n) -> caf::behavior {
    return {[n](int x) { return x + n; }};
  };
  rt.publish(rt.system().spawn(adds, 1), "idle");
  proctor::register_name("registered", rt.system().spawn(adds, 2));
  // Says how a proctor::bytes arrived: "SIZE:shared" or "SIZE:inline".
  auto weighs = [](caf::event_based_actor*, int) -> caf::behavior {
    return {[](const proctor::bytes& b) {
      return std::to_string(b.size()) + (b.shared() ? ":shared" : ":inline");
    }};
  };
  rt.publish(rt.system().spawn(weighs, 0), "bytes");
  // A block a peer might try to reach (it may not: shared memory is for
  // the server's own workers).
  auto served = proctor::shared_memory::create(rt, "served", 4096);
  auto where = !args.empty() && !args[0].starts_with("--") ? args[0] : "tcp://127.0.0.1:0";
  std::printf("%s\n", rt.listen(where).c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(60s);
  return 1;
}

// pipe_listen ENDPOINT [--proctor flags]: opens a Listener/Client pipe
// listener there; prints "listening" or "error CODE".
int pipe_listen_helper(proctor::runtime& rt, const std::vector<std::string>& args) {
  try {
    proctor::listener<int> server{rt, args.at(0)};
    std::printf("listening\n");
    return 0;
  } catch (const proctor::error& e) {
    std::printf("error %s\n", proctor::to_string(e.code()));
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
}

// orphans: starts workers of every kind, says so, and waits to be killed.
int orphans_helper(proctor::runtime& rt, const std::vector<std::string>&) {
  proctor::process first{rt, helper_sleeps, 60};
  proctor::process second{rt, helper_sleeps, 60};
  first.start();
  second.start();
  auto actor = rt.spawn_in_process(helper_idle);
  std::printf("ready\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(60s);
  return 1;
}

// daemon DIR: leaves a daemon and a slow non-daemon process to the runtime's
// end, which must terminate the first and join the second.
int daemon_helper(proctor::runtime& rt, const std::vector<std::string>& args) {
  auto dir = args.at(0);
  proctor::process guard{rt, helper_daemon, dir};
  guard.daemon(true);
  guard.start();
  proctor::process slow{rt, helper_finishes_late, dir};
  slow.start();
  return wait_for_file(dir + "/daemon_ready", 30s) ? 0 : 2;
}

} // namespace

namespace proctor::testing {

int small_frames_helper(runtime& rt, const std::vector<std::string>& args);
int small_shared_helper(runtime& rt, const std::vector<std::string>& args);
int manager_server_helper(runtime& rt, const std::vector<std::string>& args);
int manager_worker_helper(runtime& rt, const std::vector<std::string>& args);
int node_master_helper(runtime& rt, const std::vector<std::string>& args);
int jobs_master_helper(runtime& rt, const std::vector<std::string>& args);

std::optional<int> run_helper(int argc, char** argv) {
  if (argc < 3 || std::string_view{argv[1]} != "--helper")
    return std::nullopt;
  using helper = std::function<int(runtime&, const std::vector<std::string>&)>;
  static const std::map<std::string, helper> helpers{
    {"connect", connect_helper}, {"send_bytes", send_bytes_helper}, {"watch", watch_helper}, {"orphans", orphans_helper}, {"daemon", daemon_helper},
    {"serve", serve_helper}, {"small_frames", small_frames_helper},
    {"small_shared", small_shared_helper},
    {"pipe_listen", pipe_listen_helper},
    {"manager_server", manager_server_helper}, {"manager_worker", manager_worker_helper},
    {"node_master", node_master_helper}, {"jobs_master", jobs_master_helper}};
  auto i = helpers.find(argv[2]);
  if (i == helpers.end()) {
    std::fprintf(stderr, "no helper %s\n", argv[2]);
    return 64;
  }
  std::vector<std::string> args(argv + 3, argv + argc);
  return i->second(runtime::current(), args);
}

} // namespace proctor::testing
