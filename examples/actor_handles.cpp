// Two worker processes' actors talk through handles: the master hands the
// relay in one process a handle to the counter in another.
#include <proctor/proctor.hpp>


#include <chrono>
#include <iostream>

caf::behavior counter(caf::event_based_actor*) {
  return {[](int x) { return x + 1; }};
}
PROCTOR_ACTOR(counter);

caf::behavior relay(caf::event_based_actor* self) {
  return {[=](caf::actor other, int x) -> caf::result<int> {
    auto rp = self->make_response_promise<int>();
    self->request(other, std::chrono::seconds{10}, x).then([=](int y) mutable {
      rp.deliver(y);
    });
    return rp;
  }};
}
PROCTOR_ACTOR(relay);

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  auto c = rt.spawn_in_process(counter);
  auto r = rt.spawn_in_process(relay);
  caf::scoped_actor self{rt.system()};
  self->request(r, std::chrono::seconds{10}, c, 41)
    .receive([](int y) { std::cout << "relay asked counter: 41 + 1 = " << y << '\n'; },
             [&](caf::error& e) { std::cout << "error: " << rt.system().render(e) << '\n'; });
  self->send_exit(r, caf::exit_reason::user_shutdown);
  self->send_exit(c, caf::exit_reason::user_shutdown);
}
