// An application outside proctor's tree, built against the installed package
// with nothing but <proctor/proctor.hpp>: a process, a pool, a queue and an
// actor in a worker, as the README shows them. Exits 0 when all agree.
#include <proctor/proctor.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

int square(int n) {
  return n * n;
}
PROCTOR_TASK(square);

void greet(proctor::queue<std::string> q) {
  q.put("hello from " + proctor::current_process().name);
}
PROCTOR_TASK(greet);

caf::behavior doubler(caf::event_based_actor*) {
  return {[](int x) { return 2 * x; }};
}
PROCTOR_ACTOR(doubler);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  using namespace std::chrono_literals;
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    std::cout << "consumer: " << what << (ok ? " ok" : " FAILED") << '\n';
    failures += ok ? 0 : 1;
  };

  proctor::process p{rt, square, 7};
  p.start();
  check(p.join(30s) && p.exitcode() == 49, "process");

  proctor::pool pool{rt, proctor::pool_options{.processes = 2}};
  check(pool.map(square, std::vector<int>{1, 2, 3}) == std::vector<int>{1, 4, 9}, "pool");

  proctor::queue<std::string> q{rt};
  proctor::process writer{rt, greet, q};
  writer.start();
  check(q.get(30s).rfind("hello from Process-", 0) == 0 && writer.join(30s), "queue");

  auto actor = rt.spawn_in_process(doubler);
  caf::scoped_actor self{rt.system()};
  int doubled = 0;
  self->request(actor, caf::duration{30s}, 21)
    .receive([&](int x) { doubled = x; }, [&](caf::error&) {});
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  check(doubled == 42, "actor");

  std::error_code ec = proctor::errc::frame_too_large;
  check(ec.message() == "frame_too_large", "error category");
  return failures == 0 ? 0 : 1;
}
