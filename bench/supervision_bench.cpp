// Supervision figures for scripts/bench: how long a crashed child takes to
// answer again (in this process, and in a process of its own killed with
// SIGKILL), and what a whereis costs in the master.
#include "bench_support.hpp"

#include <thread>

#include <csignal>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

caf::behavior responder(caf::event_based_actor*) {
  return {
    [](int x) { return x; },
    [](caf::atom_value) -> int { throw std::runtime_error("crash"); },
  };
}
PROCTOR_ACTOR(responder);

proctor::supervisor_spec one_child(const char* name, proctor::placement where) {
  proctor::supervisor_spec spec;
  spec.intensity = 1000000;
  spec.period = 60s;
  auto child = proctor::child_spec::actor("c", responder);
  child.name = name;
  child.where = where;
  spec.children.push_back(child);
  return spec;
}

/// Waits until `name` is bound to an actor other than `old`, then asks it.
void until_replacement_answers(caf::scoped_actor& self, const std::string& name,
                               const caf::actor& old) {
  for (;;) {
    auto now = proctor::whereis(name);
    if (!now || now == old) {
      std::this_thread::yield();
      continue;
    }
    bool answered = false;
    self->request(now, 10s, 1).receive([&](int) { answered = true; }, [](caf::error&) {});
    if (answered)
      return;
  }
}

/// The mean time from a crash (`kill(actor)`) to the replacement's answer.
/// Each round starts `settle` after the previous one: the latency of a
/// crash in a quiet tree (its standby worker back), not a crash loop.
template <class Kill>
double restart_us(proctor::runtime& rt, const char* name, proctor::placement where, int rounds,
                  std::chrono::milliseconds settle, Kill kill) {
  proctor::supervisor sup{rt, one_child(name, where), name};
  caf::scoped_actor self{rt.system()};
  double total = 0;
  for (int i = 0; i < rounds; ++i) {
    std::this_thread::sleep_for(settle);
    auto current = proctor::whereis(name);
    auto t = bench::clock_type::now();
    kill(sup, current);
    until_replacement_answers(self, name, current);
    total += bench::seconds_since(t);
  }
  return total * 1e6 / rounds;
}

} // namespace

int main(int argc, char** argv) {
  // Not a line per crash on stderr: the supervisor's reports are dropped.
  proctor::set_log_handler(
    [](proctor::log_level, std::string_view component, std::string_view message) {
      if (component != "supervisor")
        std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(component.size()),
                     component.data(), static_cast<int>(message.size()), message.data());
    });
  proctor::runtime rt{argc, argv};

  auto local = restart_us(rt, "bench.local", proctor::placement::here(), 2000, 0ms,
                          [](proctor::supervisor&, const caf::actor& child) {
                            caf::anon_send(child, caf::atom("crash"));
                          });
  bench::print("supervisor.restart_local_us", local, "us");

  auto process = restart_us(rt, "bench.process", proctor::placement::in_own_process(), 50, 20ms,
                            [](proctor::supervisor& sup, const caf::actor&) {
                              ::kill(sup.which_children().at(0).pid, SIGKILL);
                            });
  bench::print("supervisor.restart_process_ms", process / 1000.0, "ms");

  auto someone = rt.system().spawn(responder);
  proctor::register_name("bench.whereis", someone);
  constexpr int lookups = 2000000;
  std::size_t found = 0;
  auto t = bench::clock_type::now();
  for (int i = 0; i < lookups; ++i)
    found += proctor::whereis("bench.whereis") ? 1 : 0;
  bench::print("registry.whereis_ns", bench::seconds_since(t) * 1e9 / lookups, "ns");
  if (found != lookups)
    return 1;
  caf::anon_send_exit(someone, caf::exit_reason::user_shutdown);
}
