#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "proctor/detail/actor_registry.hpp"
#include "proctor/errc.hpp"

namespace proctor {

class runtime;

/// Whether a child that ended is started again (Erlang/OTP's restart type):
/// always; unless it ended normally or was shut down; never.
enum class restart { permanent, transient, temporary };

/// What a child is: an actor that works, or a supervisor of its own.
enum class child_type { worker, supervisor };

/// Whom a supervisor restarts when a child ends: that child; all children;
/// that child and those started after it; or, for children of one spec
/// started at run time, that child.
enum class strategy { one_for_one, one_for_all, rest_for_one, simple_one_for_one };

/// Whether the end of `significant` children ends their supervisor.
enum class auto_shutdown { never, any_significant, all_significant };

/// How long a child gets to stop before it is killed.
struct shutdown_policy {
  std::chrono::milliseconds timeout;

  /// Killed at once (SIGKILL for a child in a process of its own).
  static shutdown_policy brutal_kill() {
    return {std::chrono::milliseconds{0}};
  }
  /// Asked to stop (exit reason user_shutdown), killed after `t`.
  static shutdown_policy after(std::chrono::milliseconds t) {
    return {t};
  }
  /// Asked to stop and waited for as long as it takes (OTP's default for
  /// supervisors).
  static shutdown_policy infinity() {
    return {std::chrono::milliseconds::max()};
  }
};

/// Where a child runs.
struct placement {
  enum kind_type { this_process, own_process, node };
  kind_type kind = this_process;
  std::string node_id; ///< for kind node: an id from runtime::nodes()

  /// In the supervisor's process (the default).
  static placement here() {
    return {};
  }
  /// In a worker process of its own: the child's end is the process's end,
  /// reported with its exit code or signal.
  static placement in_own_process() {
    return {own_process, {}};
  }
  /// In a worker process on the node `id`.
  static placement on_node(std::string id) {
    return {node, std::move(id)};
  }
};

/// Akka's backoff between the restarts of a child: the n-th restart in a
/// row waits min·2^(n-1), at most max, stretched by a random share of up to
/// random_factor; the count starts again once the child has run for
/// reset_after (max if zero). Off while max is zero (the default).
struct backoff {
  std::chrono::milliseconds min{0};
  std::chrono::milliseconds max{0};
  double random_factor = 0.0;
  std::chrono::milliseconds reset_after{0};
};

struct supervisor_spec;

/// How a supervisor starts, restarts and stops one child (OTP's child
/// spec). Make one with child_spec::actor or child_spec::supervisor, then
/// set what differs from OTP's defaults.
struct child_spec {
  std::string id;
  proctor::restart restart = proctor::restart::permanent;
  /// Empty: OTP's default, 5 s for a worker, infinity for a supervisor.
  std::optional<shutdown_policy> shutdown;
  child_type type = child_type::worker;
  /// With the supervisor's auto_shutdown: this child's end may end the
  /// supervisor. Only for transient and temporary children.
  bool significant = false;
  proctor::placement where;
  /// If set, the child is registered under this name (proctor::whereis),
  /// and the name follows each new incarnation of the child.
  std::string name;

  /// A worker: the actor registered with PROCTOR_ACTOR(fn), spawned as
  /// fn(self, xs...). Throws proctor::error(unregistered_actor).
  template <class F, class... Ts>
  static child_spec actor(std::string id, F fn, Ts&&... xs) {
    auto& entry = internal::registered_actor(reinterpret_cast<const void*>(fn));
    child_spec spec;
    spec.id = std::move(id);
    spec.actor_name = entry.name;
    spec.actor_args = internal::encode_actor_arguments(fn, std::forward<Ts>(xs)...);
    return spec;
  }

  /// A supervisor of its own, started from `spec`; it runs in its
  /// parent's process.
  static child_spec supervisor(std::string id, supervisor_spec spec);

  // What starts the child (set by the factories).
  std::string actor_name;
  std::string actor_args;
  std::shared_ptr<const supervisor_spec> nested;
};

/// A supervisor: its strategy, its restart intensity (at most `intensity`
/// restarts within `period`; one more and it stops its children and ends
/// with supervisor_gave_up, which its own supervisor sees as a crash), and
/// its children, started left to right. For simple_one_for_one,
/// `children` holds exactly one spec, the template of the children that
/// start_child starts at run time.
struct supervisor_spec {
  proctor::strategy strategy = proctor::strategy::one_for_one;
  std::size_t intensity = 1;
  std::chrono::milliseconds period{5000};
  proctor::auto_shutdown auto_shutdown = proctor::auto_shutdown::never;
  proctor::backoff backoff;
  std::vector<child_spec> children;
};

inline child_spec child_spec::supervisor(std::string id, supervisor_spec spec) {
  child_spec child;
  child.id = std::move(id);
  child.type = child_type::supervisor;
  child.nested = std::make_shared<const supervisor_spec>(std::move(spec));
  return child;
}

/// What happened in a supervision tree: reported to every subscriber and
/// logged (crashes and give-ups as errors, the rest as info).
struct supervisor_event {
  enum kind_type {
    started,      ///< a child started (first time, or by start/restart_child)
    crashed,      ///< a child ended abnormally, not by its supervisor's order
    exited,       ///< a child ended normally or with shutdown, on its own
    restarted,    ///< a crashed child (or its group) was started again
    start_failed, ///< a child did not start; `reason` says why
    terminated,   ///< a child was stopped by its supervisor
    gave_up,      ///< the supervisor exceeded its restart intensity and ended
    shut_down,    ///< the supervisor ended by order or by auto_shutdown
  };
  kind_type kind = started;
  std::string supervisor; ///< the supervisor's path, e.g. "app/db"
  std::string child;      ///< the child's id; empty for the supervisor's own end
  /// Why: "normal", "shutdown", "killed", the exception's type and what(),
  /// "exit code N", "signal N (name)", or the error's text.
  std::string reason;
  /// For a child in a process of its own: its exit code, or minus the signal.
  std::optional<int> exitcode;
  std::size_t restarts = 0; ///< restarts of this child so far
  std::chrono::milliseconds delay{0}; ///< for restarted: the backoff waited
};

/// Names an event kind ("crashed", ...).
const char* to_string(supervisor_event::kind_type kind) noexcept;

/// One child as which_children reports it.
struct child_info {
  enum state_type { running, restarting, terminated };
  std::string id;
  caf::actor actor; ///< empty unless running
  child_type type = child_type::worker;
  state_type state = terminated;
  std::size_t restarts = 0;
  int pid = 0; ///< the worker process's pid (0 for a child in this process)
};

/// What count_children reports, as OTP does.
struct child_counts {
  std::size_t specs = 0;
  std::size_t active = 0;
  std::size_t supervisors = 0;
  std::size_t workers = 0;
};

namespace internal {
struct supervisor_handle;
}

/// The top of a supervision tree, or a handle to any supervisor in it.
/// Every call blocks until the supervisor answers (at most `call_timeout`,
/// else timeout_error); a supervisor answers between its own steps, so a
/// call waits while it stops a child that takes its shutdown time.
///
/// Threads: subscribers run on the supervisor's own thread, one event at
/// a time; they must not block or call this handle.
class supervisor {
public:
  /// Starts a supervisor named `name` from `spec` in this process: its
  /// children start left to right. If one fails to start, those started
  /// are stopped right to left and start_failed is thrown, naming the
  /// child and why. Throws bad_argument for a spec that is not valid
  /// (duplicate ids, a significant permanent child, a simple_one_for_one
  /// without exactly one template).
  supervisor(runtime& rt, supervisor_spec spec, std::string name = "supervisor");

  /// A handle to the supervisor `actor` running in this process, such as
  /// a nested one that which_children() reports: its calls and its events
  /// (of it and those below it). Its destructor leaves the supervisor
  /// running. Throws bad_argument if `actor` is no supervisor, or not one
  /// of this process; invalid_state if it has ended.
  static supervisor attach(const caf::actor& actor);

  /// Stops the tree, as stop() does, unless it ended already (a handle made
  /// by attach() does not).
  ~supervisor();

  supervisor(supervisor&&) noexcept;
  supervisor& operator=(supervisor&&) noexcept;
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  /// The supervisor's own actor (monitor it to learn of its end).
  caf::actor actor() const;

  /// Adds and starts a child. Throws: start_failed, bad_argument (its id
  /// is taken; or the supervisor is simple_one_for_one).
  caf::actor start_child(child_spec spec);

  /// simple_one_for_one: starts a child from the template, spawned as
  /// fn(self, xs...); `fn` must be the template's actor. Its id is the
  /// template's followed by '#' and a number.
  template <class F, class... Ts>
    requires std::is_pointer_v<F>
  caf::actor start_child(F fn, Ts&&... xs) {
    auto& entry = internal::registered_actor(reinterpret_cast<const void*>(fn));
    return start_dynamic(entry.name, internal::encode_actor_arguments(fn, std::forward<Ts>(xs)...));
  }

  /// Starts again a child that was terminated (its spec kept). Throws
  /// no_such_child, invalid_state (it runs), start_failed.
  caf::actor restart_child(const std::string& id);

  /// Stops a child within its shutdown time; it is not restarted, and its
  /// spec is kept (a temporary or simple_one_for_one child's is dropped).
  /// Throws no_such_child.
  void terminate_child(const std::string& id);

  /// Drops the spec of a terminated child. Throws no_such_child,
  /// invalid_state (it runs).
  void delete_child(const std::string& id);

  /// The children in start order.
  std::vector<child_info> which_children();

  child_counts count_children();

  /// Calls `handler` with every event of this supervisor and of the
  /// supervisors below it in this process; returns a token for unsubscribe.
  std::size_t subscribe(std::function<void(const supervisor_event&)> handler);
  void unsubscribe(std::size_t token);

  /// Stops the children right to left, each within its shutdown time, then
  /// the supervisor. Returns at once if it has ended already.
  void stop();

  /// Waits for the supervisor to end: true if it has, within `timeout`.
  bool wait(std::chrono::milliseconds timeout);

  /// Why the supervisor ended: supervisor_gave_up, ok (stopped or
  /// auto_shutdown), or nothing while it runs; with reason_text().
  std::optional<errc> exit_code() const;
  std::string reason_text() const;

  /// How long each call waits for the supervisor's answer (60 s).
  std::chrono::milliseconds call_timeout{60000};

private:
  supervisor() = default;
  caf::actor start_dynamic(const std::string& actor_name, std::string args);

  std::shared_ptr<internal::supervisor_handle> handle_;
  bool owner_ = true; ///< stops the tree when destroyed
};

} // namespace proctor
