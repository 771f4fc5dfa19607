#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "proctor/actor.hpp"
#include "proctor/errc.hpp"
#include "proctor/node.hpp"

namespace proctor {

class runtime;

namespace internal {
class runtime_impl;
/// The implementation behind `rt` (the library's own use).
runtime_impl& impl_of(runtime& rt) noexcept;
} // namespace internal

/// The process's proctor runtime: one CAF actor system and one I/O thread.
/// Construct it first thing in `main`. In the program as launched (the
/// master) the constructor returns. In a worker that the runtime started by
/// re-executing this binary, it runs the worker and ends the process: it
/// never returns.
///
/// Started with `--proctor.join=ENDPOINT`, the program is a *node*: the
/// constructor connects to the master listening at ENDPOINT (with the same
/// authkey), offers this host's cores, runs the workers the master places
/// here, and never returns. A node that loses its master stops its
/// workers and tries to join again for --proctor.rejoin-for=MS (60 s),
/// then exits.
///
/// Flags (`--proctor.max-frame-size=N`, `--proctor.handshake-timeout=MS`,
/// `--proctor.start-method=forkserver|spawn`, `--proctor.authkey-file=PATH`,
/// `--proctor.heartbeat-interval=MS` (1000; 0: none) and
/// `--proctor.dead-after=MS` (10000) for links to peers and nodes,
/// and CAF's scheduler flags, e.g. `--scheduler.max-threads=4`) are read from
/// argv and left in place. The authkey comes from the file named by
/// --proctor.authkey-file, else from PROCTOR_AUTHKEY, else it is random (fine
/// for a master and its own workers; peers that connect over listen/
/// remote_actor need the same key). PROCTOR_LOG=error|warning|info|debug
/// sets the log level.
class runtime {
public:
  runtime(int argc, char** argv);

  /// Terminates daemon children, joins the others, then stops the system.
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system();

  /// The runtime of this process: the master's, or, inside a process's target
  /// or a hosted actor, the worker's. Throws proctor::error(invalid_state)
  /// before one is constructed.
  static runtime& current();

  /// Starts a worker process that hosts the actor registered by
  /// PROCTOR_ACTOR(fn), spawned as fn(self, xs...), and returns its handle.
  /// The arguments travel encoded, as a task's do. Monitoring the handle
  /// reports the process's end with its exit code or signal.
  template <class Handle = caf::actor, class F, class... Ts>
  Handle spawn_in_process(F fn, Ts&&... xs) {
    auto& entry = internal::registered_actor(reinterpret_cast<const void*>(fn));
    auto args = internal::encode_actor_arguments(fn, std::forward<Ts>(xs)...);
    return caf::actor_cast<Handle>(spawn_registered(entry.name, args));
  }

  /// Starts a worker process on the node `node` (an id from nodes()) that
  /// hosts the actor registered by PROCTOR_ACTOR(fn), spawned as
  /// fn(self, xs...), and returns its handle. If the node dies, monitors see a down_msg with reason
  /// node_down. Throws proctor::error: node_down (no such node alive),
  /// unregistered_actor, spawn_failed.
  template <class Handle = caf::actor, class F, class... Ts>
  Handle spawn_on(const std::string& node, F fn, Ts&&... xs) {
    auto& entry = internal::registered_actor(reinterpret_cast<const void*>(fn));
    auto args = internal::encode_actor_arguments(fn, std::forward<Ts>(xs)...);
    return caf::actor_cast<Handle>(spawn_registered_on(node, entry.name, args));
  }

  /// The nodes that joined this master (see listen), alive or dead.
  std::vector<node_info> nodes();

  /// Waits until at least `n` nodes are alive; false after `timeout`.
  bool wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout);

  /// Accepts links from other processes that run this binary with the same
  /// authkey, on `endpoint`: `unix:/path`, `unix-abstract:name` or
  /// `tcp://host:port` (port 0 picks a free one). Returns the endpoint bound.
  /// Throws proctor::error (invalid_endpoint, connect_failed) on failure.
  std::string listen(const std::string& endpoint);

  /// Makes `actor` reachable as `name` for processes linked to this one
  /// (peers that connected to a listen endpoint, and this process's workers).
  template <class Handle>
  void publish(const Handle& actor, const std::string& name) {
    publish_handle(caf::actor_cast<caf::strong_actor_ptr>(actor), name);
  }

  /// The actor published as `name` by the process listening at `endpoint`.
  /// The first call per endpoint connects and authenticates; later calls
  /// share that link. Throws proctor::error: invalid_endpoint, connect_failed,
  /// timeout, authentication_failed / peer_refused / fingerprint_mismatch
  /// (the handshake's verdict), not_published.
  template <class Handle = caf::actor>
  Handle remote_actor(const std::string& endpoint, const std::string& name,
                      std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    return caf::actor_cast<Handle>(remote_handle(endpoint, name, timeout));
  }

private:
  friend internal::runtime_impl& internal::impl_of(runtime& rt) noexcept;

  caf::strong_actor_ptr spawn_registered(const std::string& name, const std::string& args);
  caf::strong_actor_ptr spawn_registered_on(const std::string& node, const std::string& name,
                                            const std::string& args);
  void publish_handle(caf::strong_actor_ptr actor, const std::string& name);
  caf::strong_actor_ptr remote_handle(const std::string& endpoint, const std::string& name,
                                      std::chrono::milliseconds timeout);

  std::unique_ptr<internal::runtime_impl> impl_;
};

/// Ends the calling process with `code` after running its at_exit handlers
/// and flushing stdout, stderr and the messages it sent, as Python's
/// sys.exit does in a child. In a process's target, exitcode() then
/// reports `code`.
[[noreturn]] void exit(int code);

/// Python's atexit.register for proctor's processes: `handler` runs when
/// this process ends normally, the last registered first: in a worker when
/// its target returns or throws, or at proctor::exit; in the master when
/// its runtime is destroyed. Not on a kill. A handler that throws is
/// reported on stderr; the others still run.
///
/// A worker ends with _exit, as a child of Python's fork server does, so
/// std::atexit handlers and static destructors do not run there: a C++
/// process keeps one list for both, which in a worker also holds the
/// destructors of everything the fork server's image built (Python's fork
/// server clears what its children would inherit), and running them safely
/// means stopping the runtime's threads first, which would add about half a
/// millisecond, a third, to every process's start-to-join.
void at_exit(std::function<void()> handler);

/// Runs the at_exit handlers now (the runtime does this as said above).
void run_exit_handlers();

/// This process's name (`MainProcess` in the master, `Process-N` or the name
/// given to proctor::process in a worker) and pid.
struct process_info {
  std::string name;
  int pid = 0;
};

process_info current_process();

/// The pid of the parent process.
int parent_pid();

/// The number of CPUs online.
int cpu_count();

/// The Python exit code carried by a `down_msg` or `exit_msg` reason that
/// reports the end of a worker process: the code, or minus the signal.
/// Empty for any other reason.
std::optional<int> exitcode_of(const caf::error& reason);

} // namespace proctor
