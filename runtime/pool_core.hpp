#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/scoped_actor.hpp>

#include "proctor/pool.hpp"

namespace proctor::internal {

class runtime_impl;

// What the blocking side asks of the supervisor (in this process only).
using submit_atom = caf::atom_constant<caf::atom("pl_submit")>;
using close_pool_atom = caf::atom_constant<caf::atom("pl_close")>;
using terminate_atom = caf::atom_constant<caf::atom("pl_term")>;
using join_pool_atom = caf::atom_constant<caf::atom("pl_join")>;
using stats_atom = caf::atom_constant<caf::atom("pl_stats")>;

/// What callers check before submitting, kept current by the supervisor.
struct pool_status {
  std::mutex mtx;
  bool closed = false;
  bool terminated = false;
  std::optional<std::string> broken;
};

/// A submission on its way to the supervisor.
struct submission {
  std::shared_ptr<result_state> result;
  std::vector<chunk> chunks;
};

} // namespace proctor::internal

// A submission only ever travels inside this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<proctor::internal::submission>)

namespace proctor::internal {

/// Spawns the pool's supervisor: it starts `options.processes` workers,
/// dispatches tasks to them and keeps them alive (see pool_supervisor.cpp).
caf::actor spawn_pool_supervisor(runtime_impl& rt, pool_options options,
                                 std::shared_ptr<pool_status> status);

/// The blocking side of a pool, behind proctor::pool.
class pool_core {
public:
  pool_core(runtime_impl& rt, pool_options options);
  ~pool_core();

  void submit(std::shared_ptr<result_state> result, std::vector<chunk> chunks);
  void close();
  void terminate();
  bool join(std::optional<std::chrono::steady_clock::time_point> deadline);
  pool_stats stats();

private:
  std::shared_ptr<pool_status> status_ = std::make_shared<pool_status>();
  caf::actor supervisor_;
  std::mutex mtx_; ///< guards self_
  caf::scoped_actor self_;
};

} // namespace proctor::internal
