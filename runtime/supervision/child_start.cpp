// Starting and stopping one incarnation of a supervised child. Runs on the
// supervisor's own thread, which may block: a worker process's start, a
// nested supervisor's children, a child's shutdown time.
#include "runtime/supervision/child_start.hpp"

#include <csignal>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/supervision/supervisor_core.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

void end_latch::set(const caf::error&) {
  std::lock_guard<std::mutex> guard{mtx_};
  set_ = true;
  cv_.notify_all();
}

bool end_latch::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (timeout == std::chrono::milliseconds::max()) {
    cv_.wait(guard, [this] { return set_; });
    return true;
  }
  return cv_.wait_for(guard, timeout, [this] { return set_; });
}

shutdown_policy shutdown_of(const child_spec& spec) {
  if (spec.shutdown)
    return *spec.shutdown;
  return spec.type == child_type::supervisor ? shutdown_policy::infinity()
                                             : shutdown_policy::after(std::chrono::seconds{5});
}

namespace {

caf::error start_failure(const child_spec& spec, const std::string& why) {
  return make_caf_error(errc::start_failed, "child \"" + spec.id + "\" did not start: " + why);
}

/// Spawns the actor of `spec` in the idle worker `child`, which is killed
/// if that fails: it would wait for orders forever.
caf::actor spawn_in_worker(runtime_impl& rt, const std::shared_ptr<child_process>& child,
                           const child_spec& spec) {
  try {
    return caf::actor_cast<caf::actor>(rt.spawn_in(*child, spec.actor_name, spec.actor_args));
  } catch (...) {
    child->signal(SIGKILL);
    throw;
  }
}

/// Starts the actor of `spec` where it is placed.
started_child start_worker(runtime_impl& rt, const child_spec& spec, const std::string& path,
                           std::shared_ptr<child_process>& standby) {
  started_child out;
  switch (spec.where.kind) {
    case placement::this_process: {
      auto* entry = find_actor(spec.actor_name);
      if (entry == nullptr)
        throw error(errc::unregistered_actor, "no PROCTOR_ACTOR named " + spec.actor_name);
      out.actor = caf::actor_cast<caf::actor>(entry->make(rt.system(), spec.actor_args));
      break;
    }
    case placement::own_process: {
      // The standby if it is still there, else a worker started now.
      if (auto idle = std::move(standby)) {
        try {
          out.actor = spawn_in_worker(rt, idle, spec);
          out.pid = idle->pid;
          out.process = std::move(idle);
          break;
        } catch (const std::exception& e) {
          log("supervisor", log_level::warning, path, ": the standby worker failed: ", e.what());
        }
      }
      auto child = start_standby(rt, path);
      out.actor = spawn_in_worker(rt, child, spec);
      out.pid = child->pid;
      out.process = std::move(child);
      break;
    }
    case placement::node: {
      auto placed = rt.start_on_node(spec.where.node_id, spec.actor_name, spec.actor_args,
                                     path + "/" + spec.id);
      out.actor = caf::actor_cast<caf::actor>(placed.actor);
      out.process = std::move(placed.process);
      break;
    }
  }
  return out;
}

} // namespace

std::shared_ptr<child_process> start_standby(runtime_impl& rt, const std::string& path) {
  // A daemon: the runtime's end terminates a tree still running instead of
  // waiting for it.
  // Named after its supervisor: it may become any of its children.
  return rt.start_child(true, path);
}

caf::expected<started_child> start_incarnation(runtime_impl& rt, const child_spec& spec,
                                               const std::string& path,
                                               const std::shared_ptr<event_hub>& events,
                                               std::shared_ptr<child_process>& standby) {
  started_child out;
  if (spec.nested) {
    auto started = start_supervisor(rt, *spec.nested, path + "/" + spec.id, events);
    if (!started)
      return start_failure(spec, detail_of(started.error()));
    out.actor = (*started)->actor;
  } else {
    try {
      out = start_worker(rt, spec, path, standby);
    } catch (const std::exception& e) {
      return start_failure(spec, e.what());
    }
  }
  if (!out.actor)
    return start_failure(spec, "no actor came up");
  out.since = std::chrono::steady_clock::now();
  out.ended = std::make_shared<end_latch>();
  caf::actor_cast<caf::abstract_actor*>(out.actor)->attach_functor(
    [ended = out.ended](const caf::error& reason) { ended->set(reason); });
  return out;
}

void kill_incarnation(started_child& child) {
  if (child.process)
    child.process->signal(SIGKILL);
  else if (child.actor)
    caf::anon_send_exit(child.actor, caf::exit_reason::kill);
}

void stop_incarnation(started_child& child, shutdown_policy policy) {
  if (!child.actor)
    return;
  bool ended = false;
  if (policy.timeout.count() > 0) {
    caf::anon_send_exit(child.actor, caf::exit_reason::user_shutdown);
    ended = child.ended->wait(policy.timeout);
  }
  if (!ended) {
    kill_incarnation(child);
    // A kill ends a local actor at once and a process within a reap; a
    // bound keeps a lost node from holding the supervisor forever.
    if (!child.ended->wait(std::chrono::seconds{60}))
      log("supervisor", log_level::error, "a killed child did not end within 60 s: ",
          child.process ? child.process->describe() : std::string{"an actor"});
  }
}

} // namespace proctor::internal
