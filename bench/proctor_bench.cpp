// proctor's side of scripts/bench: prints `name value unit` lines only.
#include <proctor/proctor.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <cstdio>
#include <string>

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

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};

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
  auto ask = [&](int i) {
    self->request(server, caf::infinite, i).receive([](int) {}, [](caf::error&) {});
  };
  for (int i = 0; i < 1000; ++i)
    ask(i);
  constexpr int rounds = 20000;
  t = clock_type::now();
  for (int i = 0; i < rounds; ++i)
    ask(i);
  std::printf("proctor.uds.rtt_us %.1f us\n", micros_since(t) / rounds);
  std::fflush(stdout);

  constexpr int messages = 200000;
  std::string payload(64, 'x');
  t = clock_type::now();
  for (int i = 0; i < messages; ++i)
    self->send(server, payload);
  self->request(server, caf::infinite, caf::atom("sync"), messages)
    .receive([](int) {}, [](caf::error&) {});
  std::printf("proctor.uds.msgs_per_s %.0f msgs/s\n", messages / (micros_since(t) / 1e6));
  self->send_exit(server, caf::exit_reason::user_shutdown);
}
