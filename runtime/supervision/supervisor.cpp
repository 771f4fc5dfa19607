// proctor::supervisor: the handle of a supervision tree. Each call is a
// request to the supervisor actor that runs the call on the actor's own
// thread and answers when it is done.
#include "proctor/supervisor.hpp"

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "proctor/runtime.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/supervision/supervision_atoms.hpp"
#include "runtime/supervision/supervisor_core.hpp"

namespace proctor {

namespace {

/// Runs `work(core)` on the supervisor's thread and returns its result;
/// throws proctor::error for a failure, a timeout or an ended supervisor.
template <class Result, class Work>
Result call(internal::supervisor_handle& h, std::chrono::milliseconds timeout, Work work) {
  auto out = std::make_shared<std::optional<caf::expected<Result>>>();
  auto job = std::make_shared<internal::supervisor_call>(
    internal::supervisor_call{[out, work](internal::supervisor_core& core) mutable { *out = work(core); }});
  caf::scoped_actor self{h.actor.home_system()};
  caf::error failure;
  self->request(h.actor, timeout, internal::supervisor_call_atom::value, job)
    .receive([] {}, [&](caf::error& err) { failure = std::move(err); });
  if (failure) {
    if (failure == caf::sec::request_timeout)
      throw timeout_error("proctor: the supervisor did not answer in time");
    if (failure == caf::sec::unexpected_message)
      throw error(errc::bad_argument, "proctor: the actor is not a supervisor");
    throw error(errc::invalid_state, "proctor: the supervisor has ended");
  }
  if (!*out)
    throw error(errc::invalid_state, "proctor: the supervisor has ended");
  auto& result = **out;
  if (!result) {
    auto [code, detail] = internal::parts_of(result.error(), h.actor.home_system());
    internal::throw_error(code, detail);
  }
  return std::move(*result);
}

} // namespace

supervisor::supervisor(runtime& rt, supervisor_spec spec, std::string name) {
  auto events = std::make_shared<internal::event_hub>();
  auto started = internal::start_supervisor(internal::impl_of(rt), spec, name, events);
  if (!started) {
    auto [code, detail] = internal::parts_of(started.error(), rt.system());
    internal::throw_error(code, detail);
  }
  handle_ = std::move(*started);
}

supervisor supervisor::attach(const caf::actor& actor) {
  if (!actor || actor->node() != actor.home_system().node())
    throw error(errc::bad_argument, "proctor: not a supervisor of this process");
  supervisor out;
  out.owner_ = false;
  out.handle_ = std::make_shared<internal::supervisor_handle>();
  out.handle_->actor = actor;
  out.handle_->events = call<std::shared_ptr<internal::event_hub>>(
    *out.handle_, out.call_timeout, [](internal::supervisor_core& core) {
      return caf::expected<std::shared_ptr<internal::event_hub>>{core.events()};
    });
  internal::watch_end(out.handle_);
  return out;
}

supervisor::~supervisor() {
  if (handle_ && owner_)
    stop();
}

supervisor::supervisor(supervisor&&) noexcept = default;
supervisor& supervisor::operator=(supervisor&&) noexcept = default;

caf::actor supervisor::actor() const {
  return handle_->actor;
}

caf::actor supervisor::start_child(child_spec spec) {
  return call<caf::actor>(*handle_, call_timeout,
                          [spec = std::move(spec)](internal::supervisor_core& core) mutable {
                            return core.start_child(std::move(spec));
                          });
}

caf::actor supervisor::start_dynamic(const std::string& actor_name, std::string args) {
  return call<caf::actor>(*handle_, call_timeout,
                          [actor_name, args = std::move(args)](internal::supervisor_core& core) {
                            return core.start_dynamic(actor_name, args);
                          });
}

caf::actor supervisor::restart_child(const std::string& id) {
  return call<caf::actor>(*handle_, call_timeout, [id](internal::supervisor_core& core) {
    return core.restart_child(id);
  });
}

namespace {

caf::expected<bool> done_or(caf::error err) {
  if (err)
    return err;
  return true;
}

} // namespace

void supervisor::terminate_child(const std::string& id) {
  call<bool>(*handle_, call_timeout, [id](internal::supervisor_core& core) {
    return done_or(core.terminate_child(id));
  });
}

void supervisor::delete_child(const std::string& id) {
  call<bool>(*handle_, call_timeout, [id](internal::supervisor_core& core) {
    return done_or(core.delete_child(id));
  });
}

std::vector<child_info> supervisor::which_children() {
  return call<std::vector<child_info>>(*handle_, call_timeout,
                                       [](internal::supervisor_core& core) {
                                         return caf::expected<std::vector<child_info>>{
                                           core.which_children()};
                                       });
}

child_counts supervisor::count_children() {
  return call<child_counts>(*handle_, call_timeout, [](internal::supervisor_core& core) {
    return caf::expected<child_counts>{core.count_children()};
  });
}

std::size_t supervisor::subscribe(std::function<void(const supervisor_event&)> handler) {
  return handle_->events->subscribe(std::move(handler));
}

void supervisor::unsubscribe(std::size_t token) {
  handle_->events->unsubscribe(token);
}

void supervisor::stop() {
  {
    std::lock_guard<std::mutex> guard{handle_->mtx};
    if (handle_->ended)
      return;
  }
  caf::anon_send_exit(handle_->actor, caf::exit_reason::user_shutdown);
  std::unique_lock<std::mutex> guard{handle_->mtx};
  handle_->cv.wait(guard, [this] { return handle_->ended; });
}

bool supervisor::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{handle_->mtx};
  return handle_->cv.wait_for(guard, timeout, [this] { return handle_->ended; });
}

std::optional<errc> supervisor::exit_code() const {
  std::lock_guard<std::mutex> guard{handle_->mtx};
  if (!handle_->ended)
    return std::nullopt;
  return handle_->code;
}

std::string supervisor::reason_text() const {
  std::lock_guard<std::mutex> guard{handle_->mtx};
  return handle_->reason;
}

} // namespace proctor
