#include "tests/runtime/supervision/supervision_helpers.hpp"

#include <unistd.h>

#include <stdexcept>

#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/runtime.hpp"

namespace proctor::testing {

using namespace std::chrono_literals;

caf::behavior supervised_worker(caf::event_based_actor* self, int tag) {
  return {
    [tag](int) { return tag; },
    [self](caf::atom_value op) -> int {
      if (op == caf::atom("crash"))
        throw std::runtime_error("boom");
      if (op == caf::atom("quit"))
        self->quit();
      if (op == caf::atom("exit"))
        proctor::exit(3);
      return static_cast<int>(::getpid());
    },
  };
}
PROCTOR_ACTOR(supervised_worker);

caf::behavior stubborn_worker(caf::event_based_actor* self, int tag) {
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[tag](int) { return tag; }};
}
PROCTOR_ACTOR(stubborn_worker);

caf::behavior tree_host(caf::stateful_actor<tree_host_state>* self) {
  return {
    [self](caf::atom_value) -> std::tuple<int, int> {
      supervisor_spec spec;
      for (auto id : {"a", "b"}) {
        auto child = child_spec::actor(id, supervised_worker, 1);
        child.where = placement::in_own_process();
        spec.children.push_back(child);
      }
      self->state.tree = std::make_unique<supervisor>(runtime::current(), spec, "hosted");
      auto children = self->state.tree->which_children();
      return {children.at(0).pid, children.at(1).pid};
    },
  };
}
PROCTOR_ACTOR(tree_host);

event_log::event_log(supervisor& sup) : sup_(sup) {
  token_ = sup_.subscribe([this](const supervisor_event& event) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(event);
    cv_.notify_all();
  });
}

event_log::~event_log() {
  sup_.unsubscribe(token_);
}

bool event_log::wait_until(const std::function<bool(const std::vector<supervisor_event>&)>& pred) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, 30s, [&] { return pred(events_); });
}

bool event_log::wait_for(supervisor_event::kind_type kind, std::size_t n,
                         const std::string& child) {
  return wait_until([&](const std::vector<supervisor_event>& seen) {
    std::size_t count = 0;
    for (auto& e : seen)
      if (e.kind == kind && (child.empty() || e.child == child))
        ++count;
    return count >= n;
  });
}

std::vector<supervisor_event> event_log::events() {
  std::lock_guard<std::mutex> guard{mtx_};
  return events_;
}

std::vector<long> event_log::restart_delays() {
  std::vector<long> out;
  for (auto& e : events())
    if (e.kind == supervisor_event::restarted)
      out.push_back(static_cast<long>(e.delay.count()));
  return out;
}

std::vector<std::string> event_log::sequence(
  std::initializer_list<supervisor_event::kind_type> kinds) {
  std::vector<std::string> out;
  for (auto& e : events())
    for (auto k : kinds)
      if (e.kind == k)
        out.push_back(std::string{to_string(k)} + " " + e.child);
  return out;
}

int ask_tag(caf::scoped_actor& self, const caf::actor& actor, int x) {
  int result = -1;
  self->request(actor, std::chrono::seconds{30}, x)
    .receive([&](int y) { result = y; }, [](caf::error&) {});
  return result;
}

bool crash(caf::scoped_actor& self, event_log& log, const caf::actor& actor,
           const std::string& child) {
  std::size_t before = 0;
  for (auto& e : log.events())
    if (e.kind == supervisor_event::crashed && e.child == child)
      ++before;
  self->send(actor, caf::atom("crash"));
  return log.wait_for(supervisor_event::crashed, before + 1, child);
}

caf::actor actor_of(supervisor& sup, const std::string& id) {
  for (auto& child : sup.which_children())
    if (child.id == id)
      return child.actor;
  return {};
}

} // namespace proctor::testing
