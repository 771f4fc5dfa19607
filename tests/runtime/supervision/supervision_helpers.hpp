#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "proctor/supervisor.hpp"

namespace proctor::testing {

/// Answers an int with its tag; (crash) throws std::runtime_error("boom");
/// (quit) ends normally; (exit) ends its process with exit code 3; (pid)
/// answers its process's pid.
caf::behavior supervised_worker(caf::event_based_actor* self, int tag);

/// Ignores every exit message but kill; answers an int with its tag.
caf::behavior stubborn_worker(caf::event_based_actor* self, int tag);

struct tree_host_state {
  std::unique_ptr<supervisor> tree;
};

/// Hosts a supervision tree in its worker process: (start) starts a
/// one_for_one supervisor with two children in processes of their own and
/// answers their pids (two ints).
caf::behavior tree_host(caf::stateful_actor<tree_host_state>* self);

/// Every event of a supervisor, in order, waited for with a bound.
class event_log {
public:
  explicit event_log(supervisor& sup);
  ~event_log();

  /// Waits (at most 30 s) until `pred` holds for the events seen so far.
  bool wait_until(const std::function<bool(const std::vector<supervisor_event>&)>& pred);
  /// Waits until `n` events of `kind` (for `child`, if given) were seen.
  bool wait_for(supervisor_event::kind_type kind, std::size_t n, const std::string& child = {});
  std::vector<supervisor_event> events();
  /// The backoff delay of each restart, in milliseconds, in order.
  std::vector<long> restart_delays();
  /// "kind child" for each event, in order, of the kinds in `kinds`.
  std::vector<std::string> sequence(std::initializer_list<supervisor_event::kind_type> kinds);

private:
  supervisor& sup_;
  std::size_t token_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<supervisor_event> events_;
};

/// Asks `actor` for an int answer; -1 on any error.
int ask_tag(caf::scoped_actor& self, const caf::actor& actor, int x = 0);

/// Sends `actor` (crash) and waits until `log` has seen one more crash of
/// `child` than before.
bool crash(caf::scoped_actor& self, event_log& log, const caf::actor& actor,
           const std::string& child);

/// The actor of child `id` as which_children reports it.
caf::actor actor_of(supervisor& sup, const std::string& id);

} // namespace proctor::testing
