// The "supervised" mode of the node tests' master (node_helpers.cpp):
//   a supervisor's child on the first node, registered as "node.remote",
//   answers through its name ("answer 101"); crashed, it is restarted on
//   the node and answers again ("again 101"). A worker on the node binds
//   a name the master finds ("self 5"), and finds the master's ("sees 7").
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "proctor/actor.hpp"
#include "proctor/registry.hpp"
#include "proctor/runtime.hpp"
#include "proctor/supervisor.hpp"

namespace proctor::testing {

namespace {

using namespace std::chrono_literals;

caf::behavior node_named_adder(caf::event_based_actor*, int base) {
  return {
    [base](int x) { return base + x; },
    [](caf::atom_value) -> int { throw std::runtime_error("crash"); },
  };
}
PROCTOR_ACTOR(node_named_adder);

// (register NAME) binds itself; (ask NAME) asks what is bound there for 0.
caf::behavior node_name_user(caf::event_based_actor* self, int tag) {
  return {
    [self](caf::atom_value op, const std::string& name) -> caf::result<int> {
      if (op == caf::atom("register")) {
        register_name(name, caf::actor{self});
        return 0;
      }
      auto found = whereis(name);
      if (!found)
        return -1;
      auto rp = self->make_response_promise<int>();
      self->request(found, 30s, 0).then([rp](int x) mutable { rp.deliver(x); },
                                        [rp](caf::error& e) mutable { rp.deliver(e); });
      return rp;
    },
    [tag](int) { return tag; },
  };
}
PROCTOR_ACTOR(node_name_user);

int ask(caf::scoped_actor& self, const caf::actor& actor, auto... xs) {
  int out = -1;
  self->request(actor, 30s, xs...).receive([&](int x) { out = x; }, [](caf::error&) {});
  return out;
}

} // namespace

int supervised(runtime& rt, const std::vector<std::string>& ids) {
  caf::scoped_actor self{rt.system()};
  supervisor_spec spec;
  spec.intensity = 5;
  auto child = child_spec::actor("remote", node_named_adder, 100);
  child.where = placement::on_node(ids.at(0));
  child.name = "node.remote";
  spec.children.push_back(child);
  supervisor sup{rt, spec, "nodes"};
  auto first = whereis("node.remote");
  std::printf("answer %d\n", ask(self, first, 1));
  self->send(first, caf::atom("crash"));
  for (int i = 0; i < 3000; ++i) {
    auto now = whereis("node.remote");
    if (now && now != first) {
      std::printf("again %d\n", ask(self, now, 1));
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  auto user = rt.spawn_on(ids.at(0), node_name_user, 5);
  ask(self, user, caf::atom("register"), std::string{"node.self"});
  std::printf("self %d\n", ask(self, whereis("node.self"), 0));
  auto local = rt.system().spawn(node_name_user, 7);
  register_name("node.master", local);
  std::printf("sees %d\n", ask(self, user, caf::atom("ask"), std::string{"node.master"}));
  std::fflush(stdout);
  self->send_exit(user, caf::exit_reason::user_shutdown);
  self->send_exit(local, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace proctor::testing
