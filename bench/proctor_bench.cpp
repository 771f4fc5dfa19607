// proctor's side of scripts/bench: prints `name value unit` lines only.
#include <proctor/proctor.hpp>


#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

double micros_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
}

} // namespace

void noop() {
}
PROCTOR_TASK(noop);

caf::behavior echo(caf::event_based_actor*) {
  return {
    [](int x) { return x; },
    [](caf::atom_value, int n) { return n; },
    [](const std::string&) {},
  };
}
PROCTOR_ACTOR(echo);

// CAF 0.17 spawns a function without arguments through a null shared_ptr.
caf::behavior echo_with(caf::event_based_actor* self, int) {
  return echo(self);
}

// Serves echo on TCP loopback and writes the endpoint to `path`. Runs as a
// master of its own: a runtime reaches its own child through the link it
// already has, never through a second one.
void serve_echo_tcp(proctor::runtime& rt, const std::string& path) {
  rt.publish(rt.system().spawn(echo_with, 0), "echo");
  auto bound = rt.listen("tcp://127.0.0.1:0");
  std::ofstream{path + ".tmp"} << bound;
  std::filesystem::rename(path + ".tmp", path);
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds{1});
}

/// This binary again, as the TCP echo server; its pid.
pid_t start_tcp_server(const std::string& path) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe");
  std::string flag = "--serve-tcp";
  char* args[] = {self.data(), flag.data(), const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, self.c_str(), nullptr, nullptr, args, environ) != 0)
    return -1;
  return pid;
}

void produce(proctor::queue<int> q, int from, int n) {
  for (int i = from; i < from + n; ++i)
    q.put(i);
  q.put(-1);
}
PROCTOR_TASK(produce);

// Times uncontended acquire/release pairs here, in a process that does not
// own the lock, and reports the mean in microseconds.
void time_lock(proctor::lock lock, proctor::queue<double> report, int n) {
  for (int i = 0; i < 100; ++i) {
    lock.acquire();
    lock.release();
  }
  auto t = clock_type::now();
  for (int i = 0; i < n; ++i) {
    lock.acquire();
    lock.release();
  }
  report.put(micros_since(t) / n);
}
PROCTOR_TASK(time_lock);

// Answers each message on the pipe until the other end closes.
void pipe_echo(proctor::pipe_end<std::string> end) {
  try {
    for (;;)
      end.send(end.recv());
  } catch (const proctor::end_of_pipe&) {
  }
}
PROCTOR_TASK(pipe_echo);

/// Mean round trip of 64 bytes over a duplex pipe to another process (the
/// anchor's ping-pong payload).
double pipe_rtt_us(proctor::runtime& rt) {
  auto [mine, theirs] = proctor::pipe<std::string>(rt);
  std::string ping(64, 'p');
  proctor::process echoer{rt, pipe_echo, theirs};
  echoer.start();
  for (int i = 0; i < 1000; ++i) {
    mine.send(ping);
    mine.recv();
  }
  // The median of several batches: one burst of noise on a shared machine
  // should not decide the figure.
  constexpr int batches = 5;
  constexpr int rounds = 10000;
  std::vector<double> means;
  for (int b = 0; b < batches; ++b) {
    auto t = clock_type::now();
    for (int i = 0; i < rounds; ++i) {
      mine.send(ping);
      mine.recv();
    }
    means.push_back(micros_since(t) / rounds);
  }
  std::sort(means.begin(), means.end());
  auto rtt = means[batches / 2];
  mine.close();
  echoer.join();
  return rtt;
}

/// Items per second from `producers` processes into a queue of this one.
double queue_rate(proctor::runtime& rt, int producers, int per_producer) {
  proctor::queue<int> q{rt};
  std::vector<std::unique_ptr<proctor::process>> procs;
  auto t = clock_type::now();
  for (int i = 0; i < producers; ++i) {
    procs.push_back(std::make_unique<proctor::process>(rt, produce, q, i * per_producer,
                                                       per_producer));
    procs.back()->start();
  }
  int ended = 0;
  long received = 0;
  while (ended < producers)
    if (q.get() < 0)
      ++ended;
    else
      ++received;
  auto rate = received / (micros_since(t) / 1e6);
  for (auto& p : procs)
    p->join();
  return rate;
}

std::string wait_for_file(const std::string& path) {
  while (!std::filesystem::exists(path))
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

double rtt_us(caf::scoped_actor& self, const caf::actor& server) {
  auto ask = [&](int i) {
    self->request(server, caf::infinite, i).receive([](int) {}, [](caf::error&) {});
  };
  for (int i = 0; i < 1000; ++i)
    ask(i);
  constexpr int rounds = 20000;
  auto t = clock_type::now();
  for (int i = 0; i < rounds; ++i)
    ask(i);
  return micros_since(t) / rounds;
}

int main(int argc, char** argv) {
  // The TCP server is another master: both need one key.
  ::setenv("PROCTOR_AUTHKEY", ("proctor-bench-" + std::to_string(::getpid())).c_str(), 0);
  proctor::runtime rt{argc, argv};
  if (argc >= 3 && std::string_view{argv[1]} == "--serve-tcp") {
    serve_echo_tcp(rt, argv[2]);
    return 0;
  }

  constexpr int starts = 200;
  auto t = clock_type::now();
  for (int i = 0; i < starts; ++i) {
    proctor::process p{rt, noop};
    p.start();
    p.join();
  }
  std::printf("proctor.process.start_join_us %.0f us\n", micros_since(t) / starts);
  std::fflush(stdout);

  auto server = rt.spawn_in_process(echo);
  caf::scoped_actor self{rt.system()};
  std::printf("proctor.uds.rtt_us %.1f us\n", rtt_us(self, server));
  std::fflush(stdout);

  {
    auto path = std::filesystem::temp_directory_path()
                / ("proctor-bench-" + std::to_string(::getpid()));
    auto tcp_server = start_tcp_server(path.string());
    auto remote = rt.remote_actor(wait_for_file(path.string()), "echo");
    std::printf("proctor.tcp.rtt_us %.1f us\n", rtt_us(self, remote));
    std::fflush(stdout);
    ::kill(tcp_server, SIGKILL);
    ::waitpid(tcp_server, nullptr, 0);
    std::filesystem::remove(path);
  }

  constexpr int messages = 200000;
  std::string payload(64, 'x');
  t = clock_type::now();
  for (int i = 0; i < messages; ++i)
    self->send(server, payload);
  self->request(server, caf::infinite, caf::atom("sync"), messages)
    .receive([](int) {}, [](caf::error&) {});
  std::printf("proctor.uds.msgs_per_s %.0f msgs/s\n", messages / (micros_since(t) / 1e6));
  std::fflush(stdout);
  self->send_exit(server, caf::exit_reason::user_shutdown);

  std::printf("proctor.pipe.rtt_us %.1f us\n", pipe_rtt_us(rt));
  std::fflush(stdout);

  // Enough items that starting the producers is as small a share of the
  // time as in Python's run (where 100000 items take about 50 times a start).
  std::printf("proctor.queue.msgs_per_s %.0f msgs/s\n", queue_rate(rt, 1, 1000000));
  std::printf("proctor.queue.msgs_per_s_4p1c %.0f msgs/s\n", queue_rate(rt, 4, 250000));
  std::fflush(stdout);

  proctor::lock lock{rt};
  proctor::queue<double> report{rt};
  proctor::process locker{rt, time_lock, lock, report, 5000};
  locker.start();
  std::printf("proctor.lock.acquire_release_us %.1f us\n", report.get());
  locker.join();
}
