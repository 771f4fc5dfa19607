// The supervisor actor: a detached actor (a thread of its own), because a
// supervisor blocks while a child starts or stops, as OTP's does. It runs
// supervisor_core's steps one message at a time: a child's down, a backoff
// timer, a call of the handle, an exit order from its own supervisor.
#include "runtime/supervision/supervisor_core.hpp"

#include <future>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/errors.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/supervision/supervision_atoms.hpp"
#include "transport/base/log.hpp"

namespace proctor {

const char* to_string(supervisor_event::kind_type kind) noexcept {
  switch (kind) {
    case supervisor_event::started: return "started";
    case supervisor_event::crashed: return "crashed";
    case supervisor_event::exited: return "exited";
    case supervisor_event::restarted: return "restarted";
    case supervisor_event::start_failed: return "start_failed";
    case supervisor_event::terminated: return "terminated";
    case supervisor_event::gave_up: return "gave_up";
    case supervisor_event::shut_down: return "shut_down";
  }
  return "?";
}

namespace internal {

// -- event_hub -----------------------------------------------------------------

std::size_t event_hub::subscribe(std::function<void(const supervisor_event&)> handler) {
  std::lock_guard<std::mutex> guard{mtx_};
  handlers_.emplace(++last_token_,
                    std::make_shared<std::function<void(const supervisor_event&)>>(
                      std::move(handler)));
  return last_token_;
}

void event_hub::unsubscribe(std::size_t token) {
  std::lock_guard<std::mutex> guard{mtx_};
  handlers_.erase(token);
}

void event_hub::publish(const supervisor_event& event) {
  auto level = event.kind == supervisor_event::crashed || event.kind == supervisor_event::gave_up
                   || event.kind == supervisor_event::start_failed
                 ? log_level::error
                 : log_level::info;
  log("supervisor", level, event.supervisor, event.child.empty() ? "" : " child ", event.child,
      ": ", to_string(event.kind), event.reason.empty() ? "" : " (", event.reason,
      event.reason.empty() ? "" : ")", ", restarts ", event.restarts);
  std::vector<std::shared_ptr<std::function<void(const supervisor_event&)>>> handlers;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [token, handler] : handlers_)
      handlers.push_back(handler);
  }
  std::lock_guard<std::mutex> one_at_a_time{deliver_mtx_};
  for (auto& handler : handlers) {
    try {
      (*handler)(event);
    } catch (const std::exception& e) {
      log("supervisor", log_level::error, "an event subscriber threw: ", e.what());
    }
  }
}

// -- the actor -------------------------------------------------------------------

namespace {

struct supervisor_state {
  std::unique_ptr<supervisor_core> core;
};

using supervisor_actor_type = caf::stateful_actor<supervisor_state>;

struct supervisor_start {
  runtime_impl* rt;
  supervisor_spec spec;
  std::string path;
  std::shared_ptr<event_hub> events;
  std::promise<caf::error> started;
};

caf::behavior supervisor_actor(supervisor_actor_type* self,
                               std::shared_ptr<supervisor_start> start) {
  auto& core = *(self->state.core = std::make_unique<supervisor_core>(
                   self, *start->rt, std::move(start->spec), start->path, start->events));
  auto finish_if_done = [self, &core] {
    if (core.finished())
      self->quit(core.exit_reason());
  };
  self->set_down_handler([&core, finish_if_done](caf::down_msg& msg) {
    core.on_down(msg);
    finish_if_done();
  });
  self->set_exit_handler([self, &core](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::normal)
      return;
    core.shut_down("ordered by " + std::string{msg.reason == caf::exit_reason::user_shutdown
                                                  ? "shutdown"
                                                  : "an exit message"});
    self->quit(msg.reason);
  });
  caf::error failed;
  try {
    failed = core.start_all();
  } catch (const std::exception& e) {
    failed = make_caf_error(errc::start_failed, e.what());
  }
  start->started.set_value(failed);
  if (failed) {
    self->quit(failed);
    return {};
  }
  return {
    [&core](refill_standby_atom) { core.refill_standby(); },
    [&core, finish_if_done](restart_due_atom, std::uint64_t token) {
      core.on_restart_due(token);
      finish_if_done();
    },
    [&core, finish_if_done](supervisor_call_atom, const std::shared_ptr<supervisor_call>& call) {
      call->work(core);
      finish_if_done();
    },
  };
}

/// Records how the supervisor behind `handle` ended.
void record_end(supervisor_handle& handle, const caf::error& reason) {
  std::lock_guard<std::mutex> guard{handle.mtx};
  handle.ended = true;
  if (reason && reason.category() == error_category) {
    handle.code = static_cast<errc>(reason.code());
    handle.reason = detail_of(reason);
  } else {
    handle.code = errc::ok;
    handle.reason = !reason || reason == caf::exit_reason::normal ? "normal" : "shutdown";
  }
  handle.cv.notify_all();
}

} // namespace

void watch_end(const std::shared_ptr<supervisor_handle>& handle) {
  std::weak_ptr<supervisor_handle> weak = handle;
  caf::actor_cast<caf::abstract_actor*>(handle->actor)
    ->attach_functor([weak](const caf::error& reason) {
      if (auto h = weak.lock())
        record_end(*h, reason);
    });
}

caf::expected<std::shared_ptr<supervisor_handle>>
start_supervisor(runtime_impl& rt, const supervisor_spec& spec, const std::string& path,
                 const std::shared_ptr<event_hub>& events) {
  if (auto err = supervisor_core::validate(spec))
    return err;
  auto start = std::make_shared<supervisor_start>(supervisor_start{&rt, spec, path, events, {}});
  auto started = start->started.get_future();
  auto handle = std::make_shared<supervisor_handle>();
  handle->events = events;
  handle->actor = rt.system().spawn<caf::detached>(supervisor_actor, start);
  watch_end(handle);
  if (auto failed = started.get())
    return failed;
  return handle;
}

} // namespace internal

} // namespace proctor
