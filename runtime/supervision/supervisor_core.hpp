#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "actors/supervision/restart_intensity.hpp"
#include "proctor/supervisor.hpp"
#include "runtime/supervision/child_start.hpp"

namespace proctor::internal {

class runtime_impl;

/// The subscribers of a supervision tree's events. Supervisors of one tree
/// in one process share it. Threads: any; `deliver_mtx_` makes
/// subscribers see one event at a time, `mtx_` guards the list only.
class event_hub {
public:
  std::size_t subscribe(std::function<void(const supervisor_event&)> handler);
  void unsubscribe(std::size_t token);
  /// Logs `event` and hands it to every subscriber.
  void publish(const supervisor_event& event);

private:
  std::mutex mtx_;
  std::mutex deliver_mtx_;
  std::size_t last_token_ = 0;
  std::map<std::size_t, std::shared_ptr<std::function<void(const supervisor_event&)>>> handlers_;
};

/// What a supervisor's handle and its actor share: the actor, the events,
/// and how the supervisor ended.
struct supervisor_handle {
  caf::actor actor;
  std::shared_ptr<event_hub> events;
  mutable std::mutex mtx;
  std::condition_variable cv;
  bool ended = false;
  errc code = errc::ok;
  std::string reason;
};

/// A supervisor's logic, run by its actor on the actor's own thread: the
/// children in start order, their restarts and shutdowns. Its calls block
/// while a child starts or stops, as an OTP supervisor does.
class supervisor_core {
public:
  supervisor_core(caf::event_based_actor* self, runtime_impl& rt, supervisor_spec spec,
                  std::string path, std::shared_ptr<event_hub> events);
  ~supervisor_core();

  /// Starts the children left to right; on a failure stops those started,
  /// right to left, and returns it.
  caf::error start_all();

  /// A monitored child ended.
  void on_down(const caf::down_msg& msg);
  /// A backoff delay is over: starts what `token` stands for.
  void on_restart_due(std::uint64_t token);
  /// Starts the idle worker that the next start of a child in a process of
  /// its own takes, if there is none and such a child exists.
  void refill_standby();

  caf::expected<caf::actor> start_child(child_spec spec);
  caf::expected<caf::actor> start_dynamic(const std::string& actor_name, std::string args);
  caf::expected<caf::actor> restart_child(const std::string& id);
  caf::error terminate_child(const std::string& id);
  caf::error delete_child(const std::string& id);
  std::vector<child_info> which_children() const;
  child_counts count_children() const;

  const std::shared_ptr<event_hub>& events() const noexcept {
    return events_;
  }

  /// Whether `spec` can start a supervisor: bad_argument with the reason.
  static caf::error validate(const supervisor_spec& spec);

  /// Stops every child, right to left, and reports the supervisor's end.
  void shut_down(const std::string& why);

  /// Whether the supervisor decided to end (give-up or auto_shutdown); its
  /// actor then quits with `exit_reason()`.
  bool finished() const noexcept {
    return finished_;
  }
  const caf::error& exit_reason() const noexcept {
    return exit_reason_;
  }

private:
  struct child {
    child_spec spec;
    started_child now;
    child_info::state_type state = child_info::terminated;
    std::size_t restarts = 0;
    std::size_t backoff_step = 0;
    caf::actor_addr last; ///< the previous incarnation, which its name may replace
    std::chrono::steady_clock::time_point since; ///< when the last incarnation started
  };
  using child_list = std::vector<child>;

  child* find(const std::string& id);
  child* find(const caf::actor_addr& actor);
  /// Starts one incarnation of `c` and registers its name.
  caf::error start(child& c, supervisor_event::kind_type report, std::chrono::milliseconds delay);
  /// Appends `spec` and starts it; drops it again if it does not start.
  caf::expected<caf::actor> add_and_start(child_spec spec);
  /// Stops `c` within its shutdown time, if it runs.
  void stop(child& c);
  /// A child ended or did not restart: restart what the strategy says, or
  /// give up.
  void on_failure(const std::string& id, const std::string& why);
  /// Starts again the children among `ids` that are not running, in order.
  void restart_group(const std::vector<std::string>& ids, std::chrono::milliseconds delay);
  /// The ids a failure of `id` restarts, with the running ones among them
  /// (but `id`) stopped right to left.
  std::vector<std::string> stop_group_of(const std::string& id);
  std::chrono::milliseconds next_delay(child& c);
  void give_up(const std::string& why);
  /// Ends the standby worker, if any.
  void drop_standby();
  /// A significant child ended for good: maybe the supervisor ends too.
  void check_auto_shutdown(const child& ended);
  void report(supervisor_event::kind_type kind, const child* c, std::string reason,
              std::optional<int> exitcode = std::nullopt,
              std::chrono::milliseconds delay = {});
  caf::error validate(const child_spec& spec) const;

  caf::event_based_actor* self_;
  runtime_impl& rt_;
  supervisor_spec spec_;
  std::string path_;
  std::shared_ptr<event_hub> events_;
  child_list children_;
  restart_intensity intensity_;
  std::minstd_rand random_;
  std::uint64_t last_token_ = 0;
  /// Restarts waiting for their backoff delay, by token.
  struct pending_restart {
    std::vector<std::string> ids;
    std::chrono::milliseconds delay;
  };
  std::map<std::uint64_t, pending_restart> pending_;
  std::uint64_t dynamic_seq_ = 0;
  /// An idle worker process, started ahead: a child in a process of its own
  /// (re)starts in it without waiting for a fork. Refilled after each use,
  /// once the supervisor has nothing else to do.
  std::shared_ptr<child_process> standby_;
  bool refill_asked_ = false;
  bool finished_ = false;
  caf::error exit_reason_;
};

/// Records in `handle` how its supervisor ends, when it does (at once if
/// it has).
void watch_end(const std::shared_ptr<supervisor_handle>& handle);

/// Starts a supervisor for `spec` named `path` on a thread of its own and
/// waits until its children have started (or failed to). Blocks.
caf::expected<std::shared_ptr<supervisor_handle>> start_supervisor(runtime_impl& rt, const supervisor_spec& spec,
                                                  const std::string& path,
                                                  const std::shared_ptr<event_hub>& events);

} // namespace proctor::internal
