// The README's demo: start a few worker processes, join them, and have two
// processes' actors talk through handles.
#include <proctor/proctor.hpp>


#include <chrono>
#include <iostream>
#include <vector>

int square_exit(int n) {
  std::cout << "worker " << proctor::current_process().name << " (pid "
            << proctor::current_process().pid << ") squares " << n << '\n';
  return n * n;
}
PROCTOR_TASK(square_exit);

caf::behavior greeter(caf::event_based_actor*) {
  return {[](const std::string& who) {
    return "hello " + who + " from pid " + std::to_string(proctor::current_process().pid);
  }};
}
PROCTOR_ACTOR(greeter);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv}; // workers never return from here

  std::cout << "master pid " << proctor::current_process().pid << std::endl;
  std::vector<proctor::process> workers;
  for (int i = 1; i <= 3; ++i)
    workers.emplace_back(rt, square_exit, i);
  for (auto& p : workers)
    p.start();
  for (auto& p : workers) {
    p.join();
    std::cout << p.name() << " exited with code " << *p.exitcode() << '\n';
  }

  auto remote = rt.spawn_in_process(greeter);
  caf::scoped_actor self{rt.system()};
  self->request(remote, std::chrono::seconds{10}, std::string{"master"})
    .receive([](const std::string& reply) { std::cout << reply << '\n'; },
             [&](caf::error& err) { std::cout << "error: " << rt.system().render(err) << '\n'; });
  self->send_exit(remote, caf::exit_reason::user_shutdown);
}
