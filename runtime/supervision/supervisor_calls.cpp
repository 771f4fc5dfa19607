// What a supervisor's handle asks of it: OTP's start_child, restart_child,
// terminate_child, delete_child, which_children and count_children. Runs on
// the supervisor actor's own thread.
#include "runtime/supervision/supervisor_core.hpp"

#include <algorithm>

#include "actors/errors.hpp"

namespace proctor::internal {

namespace {

caf::error no_child(const std::string& id) {
  return make_caf_error(errc::no_such_child, "proctor: no child \"" + id + "\"");
}

caf::error refused(errc code, const std::string& why) {
  return make_caf_error(code, "proctor: " + why);
}

/// The answer for a call that needs `c` terminated.
template <class Child>
caf::error busy(const Child& c) {
  return refused(errc::invalid_state, "child \"" + c.spec.id + "\" is "
                                        + (c.now ? "running" : "restarting"));
}

} // namespace

caf::expected<caf::actor> supervisor_core::add_and_start(child_spec spec) {
  children_.push_back(child{std::move(spec), {}, child_info::terminated, 0, 0, {}, {}});
  if (auto err = start(children_.back(), supervisor_event::started, {})) {
    children_.pop_back();
    return err;
  }
  return children_.back().now.actor;
}

caf::expected<caf::actor> supervisor_core::start_child(child_spec spec) {
  if (spec_.strategy == strategy::simple_one_for_one)
    return refused(errc::bad_argument, "a simple_one_for_one supervisor starts children "
                                       "from its template: start_child(fn, args...)");
  if (auto err = validate(spec))
    return err;
  return add_and_start(std::move(spec));
}

caf::expected<caf::actor> supervisor_core::start_dynamic(const std::string& actor_name,
                                                         std::string args) {
  if (spec_.strategy != strategy::simple_one_for_one)
    return refused(errc::bad_argument,
                   "start_child(fn, args...) is for simple_one_for_one supervisors");
  auto& model = spec_.children.front();
  if (model.actor_name != actor_name)
    return refused(errc::bad_argument, "the template starts " + model.actor_name + ", not "
                                         + actor_name);
  auto spec = model;
  spec.id = model.id + "#" + std::to_string(++dynamic_seq_);
  spec.actor_args = std::move(args);
  spec.name.clear(); // one name cannot follow many children
  return add_and_start(std::move(spec));
}

caf::expected<caf::actor> supervisor_core::restart_child(const std::string& id) {
  auto* c = find(id);
  if (c == nullptr)
    return no_child(id);
  if (c->state != child_info::terminated)
    return busy(*c);
  if (auto err = start(*c, supervisor_event::started, {}))
    return err;
  return c->now.actor;
}

caf::error supervisor_core::terminate_child(const std::string& id) {
  auto* c = find(id);
  if (c == nullptr)
    return no_child(id);
  for (auto& [token, due] : pending_)
    std::erase(due.ids, id);
  if (c->now) {
    stop(*c);
    report(supervisor_event::terminated, c, "shutdown");
  }
  c->state = child_info::terminated;
  if (c->spec.restart == restart::temporary || spec_.strategy == strategy::simple_one_for_one)
    std::erase_if(children_, [&](const child& x) { return x.spec.id == id; });
  return {};
}

caf::error supervisor_core::delete_child(const std::string& id) {
  auto* c = find(id);
  if (c == nullptr)
    return no_child(id);
  if (c->state != child_info::terminated)
    return busy(*c);
  std::erase_if(children_, [&](const child& x) { return x.spec.id == id; });
  return {};
}

std::vector<child_info> supervisor_core::which_children() const {
  std::vector<child_info> out;
  for (auto& c : children_)
    out.push_back(child_info{c.spec.id, c.now.actor, c.spec.type, c.state, c.restarts,
                             c.now.pid});
  return out;
}

child_counts supervisor_core::count_children() const {
  child_counts out;
  out.specs = children_.size();
  for (auto& c : children_) {
    if (c.now)
      ++out.active;
    if (c.spec.type == child_type::supervisor)
      ++out.supervisors;
    else
      ++out.workers;
  }
  return out;
}

} // namespace proctor::internal
