#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "actors/remote/link_requests.hpp"

namespace proctor::internal {

// The requests between a master and its nodes, on the link request layer
// (actors/remote/link_requests.hpp). A node sends "join" on the link it
// made to the master; the master then sends it "start" and "signal" on
// that link, and a node serves them from its master only.

/// A node offers its cores. The master answers with the node's id and the
/// incarnation of this join: a node that joins again (after a partition)
/// is a new incarnation, and nothing of the old one is accepted.
struct join_request {
  static constexpr std::string_view kind = "join";
  struct reply_type {
    std::string id;
    std::uint64_t incarnation = 0;
  };
  std::string host;
  std::uint32_t cores = 0;
  std::uint32_t pid = 0;
};

/// Starts a worker process on the node hosting the actor registered as
/// `actor` (PROCTOR_ACTOR, or the pool's worker) with its encoded
/// arguments; answers where it lives and the process's pid.
struct start_request {
  static constexpr std::string_view kind = "start";
  struct reply_type {
    actor_address address;
    std::uint32_t pid = 0;
  };
  std::string actor;
  std::string process_name;
  std::string args;
};

/// Sends a signal to a worker the node started for the master.
struct signal_request {
  static constexpr std::string_view kind = "signal";
  struct reply_type {};
  std::uint32_t pid = 0;
  std::int32_t sig = 0;
};

/// Starts a proctor::process on the node: a worker that runs the task
/// `task` (PROCTOR_TASK) with its encoded arguments. `ref` is the master's
/// number for it; the node reports the process's end with it (exit_report).
struct run_request {
  static constexpr std::string_view kind = "run";
  struct reply_type {
    std::uint32_t pid = 0;
  };
  std::uint64_t ref = 0;
  std::string task;
  std::string process_name;
  std::string args;
  std::string parent_name;
  bool daemon = false;
};

/// A node tells its master that the process it started as `ref` ended.
struct exit_report {
  static constexpr std::string_view kind = "exited";
  struct reply_type {};
  std::uint64_t ref = 0;
  bool signaled = false;
  std::int32_t value = 0;
};

/// The answer to a node's request from anyone but its master.
caf::error not_from_master(std::string_view kind);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_request& x) {
  return f(x.host, x.cores, x.pid);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_request::reply_type& x) {
  return f(x.id, x.incarnation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_request& x) {
  return f(x.actor, x.process_name, x.args);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_request::reply_type& x) {
  return f(x.address, x.pid);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signal_request& x) {
  return f(x.pid, x.sig);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signal_request::reply_type&) {
  return f();
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_request& x) {
  return f(x.ref, x.task, x.process_name, x.args, x.parent_name, x.daemon);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_request::reply_type& x) {
  return f(x.pid);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exit_report& x) {
  return f(x.ref, x.signaled, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exit_report::reply_type&) {
  return f();
}

} // namespace proctor::internal
