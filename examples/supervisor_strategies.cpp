// What each supervision strategy restarts when the middle of three
// children crashes, what a simple_one_for_one supervisor does with its
// dynamic children, how backoff spaces restarts, and how a supervisor that
// exceeds its restart intensity gives up.
#include <proctor/proctor.hpp>

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

caf::behavior worker(caf::event_based_actor*, int tag) {
  return {
    [tag](int) { return tag; },
    [](caf::atom_value) -> int { throw std::runtime_error("crash on purpose"); },
  };
}
PROCTOR_ACTOR(worker);

/// Collects a supervisor's events; waits for the n-th of a kind.
class recorder {
public:
  explicit recorder(proctor::supervisor& sup) : sup_(sup) {
    token_ = sup.subscribe([this](const proctor::supervisor_event& e) {
      std::lock_guard<std::mutex> guard{mtx_};
      events_.push_back(e);
      cv_.notify_all();
    });
  }

  // The supervisor outlives the recorder: its last events go nowhere.
  ~recorder() {
    sup_.unsubscribe(token_);
  }

  std::vector<proctor::supervisor_event> wait_for(proctor::supervisor_event::kind_type kind,
                                                  std::size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, 30s, [&] {
      std::size_t seen = 0;
      for (auto& e : events_)
        seen += e.kind == kind ? 1 : 0;
      return seen >= n;
    });
    std::vector<proctor::supervisor_event> out;
    for (auto& e : events_)
      if (e.kind == kind)
        out.push_back(e);
    return out;
  }

private:
  proctor::supervisor& sup_;
  std::size_t token_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<proctor::supervisor_event> events_;
};

caf::actor child_actor(proctor::supervisor& sup, const std::string& id) {
  for (auto& child : sup.which_children())
    if (child.id == id)
      return child.actor;
  return {};
}

void show(proctor::runtime& rt, proctor::strategy how, const char* label, std::size_t restarts) {
  proctor::supervisor_spec spec;
  spec.strategy = how;
  int tag = 1;
  for (auto id : {"a", "b", "c"})
    spec.children.push_back(proctor::child_spec::actor(id, worker, tag++));
  proctor::supervisor sup{rt, spec, label};
  recorder events{sup};
  caf::anon_send(child_actor(sup, "b"), caf::atom("crash"));
  std::cout << label << ": b crashed; restarted:";
  for (auto& e : events.wait_for(proctor::supervisor_event::restarted, restarts))
    std::cout << ' ' << e.child;
  std::cout << '\n';
}

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  show(rt, proctor::strategy::one_for_one, "one_for_one", 1);
  show(rt, proctor::strategy::one_for_all, "one_for_all", 3);
  show(rt, proctor::strategy::rest_for_one, "rest_for_one", 2);

  {
    proctor::supervisor_spec spec;
    spec.strategy = proctor::strategy::simple_one_for_one;
    spec.intensity = 5;
    auto model = proctor::child_spec::actor("session", worker, 0);
    model.where = proctor::placement::in_own_process();
    spec.children.push_back(model);
    proctor::supervisor sup{rt, spec, "simple_one_for_one"};
    recorder events{sup};
    sup.start_child(worker, 10);
    auto second = sup.start_child(worker, 20);
    caf::anon_send(second, caf::atom("crash"));
    auto restarted = events.wait_for(proctor::supervisor_event::restarted, 1);
    std::cout << "simple_one_for_one: " << sup.count_children().active
              << " sessions in processes of their own; " << restarted.at(0).child
              << " crashed and was restarted alone\n";
  }

  {
    proctor::supervisor_spec spec;
    spec.intensity = 10;
    spec.backoff = {100ms, 400ms, 0.0, 1h};
    auto child = proctor::child_spec::actor("w", worker, 1);
    child.name = "backoff.w";
    spec.children.push_back(child);
    proctor::supervisor sup{rt, spec, "backoff"};
    recorder events{sup};
    std::cout << "backoff: restarts waited";
    for (std::size_t n = 1; n <= 4; ++n) {
      caf::anon_send(proctor::whereis("backoff.w"), caf::atom("crash"));
      auto restarted = events.wait_for(proctor::supervisor_event::restarted, n);
      std::cout << ' ' << restarted.back().delay.count() << " ms";
    }
    std::cout << '\n';
  }

  {
    proctor::supervisor_spec spec; // OTP's default intensity: 1 restart in 5 s
    auto child = proctor::child_spec::actor("w", worker, 1);
    child.name = "fragile.w";
    spec.children.push_back(child);
    proctor::supervisor sup{rt, spec, "fragile"};
    recorder events{sup};
    caf::anon_send(proctor::whereis("fragile.w"), caf::atom("crash"));
    events.wait_for(proctor::supervisor_event::restarted, 1);
    caf::anon_send(proctor::whereis("fragile.w"), caf::atom("crash"));
    sup.wait(30s);
    std::cout << "intensity: a second crash within 5 s; the supervisor ended with "
              << proctor::to_string(*sup.exit_code()) << '\n';
  }
}
