// A supervisor's decisions: what a child's end restarts, when, and when
// the supervisor itself gives up. Runs on the supervisor actor's own
// thread only; nothing here is shared with another thread but the event
// hub (locked inside) and the runtime's registry calls.
#include "runtime/supervision/supervisor_core.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <csignal>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

#include "proctor/runtime.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/supervision/supervision_atoms.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

/// How a child ended, in words.
struct end_of_child {
  bool normal = false;   ///< ended normally (a transient child is not restarted)
  bool shutdown = false; ///< ended with reason shutdown (nor then)
  std::string text;
  std::optional<int> exitcode;
};

end_of_child describe_end(const caf::error& reason, caf::actor_system& sys) {
  end_of_child out;
  if (!reason || reason == caf::exit_reason::normal) {
    out.normal = true;
    out.text = "normal";
  } else if (reason == caf::exit_reason::user_shutdown) {
    out.shutdown = true;
    out.text = "shutdown";
  } else if (reason == caf::exit_reason::kill) {
    out.text = "killed";
  } else if (auto code = exitcode_of(reason)) {
    out.exitcode = code;
    if (*code >= 0) {
      out.normal = *code == 0;
      out.text = "exit code " + std::to_string(*code);
    } else {
      const char* name = ::strsignal(-*code);
      out.text = "signal " + std::to_string(-*code) + " (" + (name ? name : "?") + ")";
    }
  } else if (reason.category() == error_category) {
    auto detail = detail_of(reason);
    out.text = detail.empty() ? to_string(static_cast<errc>(reason.code())) : detail;
  } else {
    out.text = sys.render(reason);
  }
  return out;
}

caf::error bad_spec(const std::string& why) {
  return make_caf_error(errc::bad_argument, "proctor: " + why);
}

} // namespace

caf::error supervisor_core::validate(const supervisor_spec& spec) {
  if (spec.strategy == strategy::simple_one_for_one && spec.children.size() != 1)
    return bad_spec("a simple_one_for_one supervisor takes exactly one child spec, the template");
  if (spec.period.count() <= 0)
    return bad_spec("the restart period must be positive");
  if (spec.backoff.min > spec.backoff.max || spec.backoff.random_factor < 0)
    return bad_spec("a backoff needs min <= max and a random factor >= 0");
  std::set<std::string> ids;
  for (auto& child : spec.children) {
    if (child.id.empty())
      return bad_spec("a child spec needs an id");
    if (!ids.insert(child.id).second)
      return bad_spec("two children have the id \"" + child.id + "\"");
    if (child.actor_name.empty() && !child.nested)
      return bad_spec("child \"" + child.id + "\" has nothing to start");
    if (child.significant && child.restart == restart::permanent)
      return bad_spec("child \"" + child.id + "\" is significant, so it must be transient or temporary");
    if (child.significant && spec.auto_shutdown == auto_shutdown::never)
      return bad_spec("child \"" + child.id + "\" is significant under auto_shutdown never");
    if (child.nested && child.where.kind != placement::this_process)
      return bad_spec("child \"" + child.id + "\" is a supervisor: it runs in its parent's process");
  }
  return {};
}

supervisor_core::supervisor_core(caf::event_based_actor* self, runtime_impl& rt,
                                 supervisor_spec spec, std::string path,
                                 std::shared_ptr<event_hub> events)
  : self_(self), rt_(rt), spec_(std::move(spec)), path_(std::move(path)),
    events_(std::move(events)),
    intensity_(spec_.intensity, spec_.period),
    random_(std::random_device{}()) {
}

supervisor_core::~supervisor_core() {
  // However the supervisor ended, no child outlives it.
  for (auto& c : children_)
    if (c.now)
      kill_incarnation(c.now);
  if (standby_)
    standby_->signal(SIGKILL);
}

void supervisor_core::drop_standby() {
  if (auto idle = std::move(standby_))
    idle->signal(SIGKILL);
}

void supervisor_core::refill_standby() {
  refill_asked_ = false;
  if (standby_ || finished_)
    return;
  bool wanted = std::any_of(children_.begin(), children_.end(), [](const child& c) {
    return c.spec.where.kind == placement::own_process;
  });
  wanted = wanted || (spec_.strategy == strategy::simple_one_for_one
                      && spec_.children.front().where.kind == placement::own_process);
  if (!wanted)
    return;
  try {
    standby_ = start_standby(rt_, path_);
  } catch (const std::exception& e) {
    log("supervisor", log_level::warning, path_, ": no standby worker: ", e.what());
  }
}

caf::error supervisor_core::start_all() {
  if (spec_.strategy == strategy::simple_one_for_one)
    return {};
  for (auto& spec : spec_.children)
    children_.push_back(child{spec, {}, child_info::terminated, 0, 0, {}, {}});
  for (std::size_t i = 0; i < children_.size(); ++i) {
    if (auto err = start(children_[i], supervisor_event::started, {})) {
      for (std::size_t j = i; j-- > 0;)
        stop(children_[j]);
      return err;
    }
  }
  return {};
}

supervisor_core::child* supervisor_core::find(const std::string& id) {
  auto i = std::find_if(children_.begin(), children_.end(),
                        [&](const child& c) { return c.spec.id == id; });
  return i == children_.end() ? nullptr : &*i;
}

supervisor_core::child* supervisor_core::find(const caf::actor_addr& actor) {
  auto i = std::find_if(children_.begin(), children_.end(), [&](const child& c) {
    return c.now && caf::actor_cast<caf::actor_addr>(c.now.actor) == actor;
  });
  return i == children_.end() ? nullptr : &*i;
}

caf::error supervisor_core::start(child& c, supervisor_event::kind_type report_as,
                                  std::chrono::milliseconds delay) {
  auto started = start_incarnation(rt_, c.spec, path_, events_, standby_);
  if (c.spec.where.kind == placement::own_process && !standby_ && !refill_asked_) {
    refill_asked_ = true; // after what waits in the mailbox
    self_->send(self_, refill_standby_atom::value);
  }
  if (!started) {
    report(supervisor_event::start_failed, &c, detail_of(started.error()));
    return std::move(started.error());
  }
  c.now = std::move(*started);
  self_->monitor(c.now.actor);
  if (!c.spec.name.empty()) {
    try {
      rt_.bind_name(c.spec.name, caf::actor_cast<caf::strong_actor_ptr>(c.now.actor), c.last);
    } catch (const error& e) {
      stop(c);
      auto why = "child \"" + c.spec.id + "\" did not start: " + e.what();
      report(supervisor_event::start_failed, &c, why);
      return make_caf_error(errc::start_failed, why);
    }
  }
  c.last = caf::actor_cast<caf::actor_addr>(c.now.actor);
  c.since = c.now.since;
  c.state = child_info::running;
  report(report_as, &c, {}, std::nullopt, delay);
  return {};
}

void supervisor_core::stop(child& c) {
  if (!c.now)
    return;
  auto incarnation = std::move(c.now);
  c.now = {};
  c.state = child_info::terminated;
  self_->demonitor(incarnation.actor);
  stop_incarnation(incarnation, shutdown_of(c.spec));
}

void supervisor_core::on_down(const caf::down_msg& msg) {
  auto* c = find(msg.source);
  if (c == nullptr)
    return; // an incarnation stopped or replaced already
  c->now = {};
  auto end = describe_end(msg.reason, self_->system());
  report(end.normal || end.shutdown ? supervisor_event::exited : supervisor_event::crashed, c,
         end.text, end.exitcode);
  bool again = c->spec.restart == restart::permanent
               || (c->spec.restart == restart::transient && !end.normal && !end.shutdown);
  if (again) {
    on_failure(c->spec.id, end.text);
    return;
  }
  c->state = child_info::terminated;
  auto ended = *c;
  if (c->spec.restart == restart::temporary || spec_.strategy == strategy::simple_one_for_one)
    std::erase_if(children_, [&](const child& x) { return x.spec.id == ended.spec.id; });
  check_auto_shutdown(ended);
}

void supervisor_core::on_failure(const std::string& id, const std::string& why) {
  if (finished_)
    return;
  if (!intensity_.allow(std::chrono::steady_clock::now())) {
    give_up("child \"" + id + "\" ended (" + why + ") after "
            + std::to_string(spec_.intensity) + " restarts within "
            + std::to_string(spec_.period.count()) + " ms");
    return;
  }
  auto* failed = find(id);
  if (failed == nullptr)
    return;
  auto delay = next_delay(*failed);
  auto group = stop_group_of(id);
  for (auto& member : group)
    if (auto* c = find(member))
      c->state = child_info::restarting;
  if (delay.count() == 0) {
    restart_group(group, delay);
    return;
  }
  auto token = ++last_token_;
  pending_[token] = pending_restart{group, delay};
  self_->delayed_send(self_, delay, restart_due_atom::value, token);
}

std::vector<std::string> supervisor_core::stop_group_of(const std::string& id) {
  if (spec_.strategy == strategy::one_for_one || spec_.strategy == strategy::simple_one_for_one)
    return {id};
  auto first = std::find_if(children_.begin(), children_.end(),
                            [&](const child& c) { return c.spec.id == id; });
  if (spec_.strategy == strategy::one_for_all)
    first = children_.begin();
  // Right to left; a temporary child stopped here is not started again.
  std::vector<std::string> dropped;
  for (auto i = children_.end(); i != first;) {
    --i;
    if (i->spec.id == id || !i->now)
      continue;
    stop(*i);
    report(supervisor_event::terminated, &*i, "restarting with \"" + id + "\"");
    if (i->spec.restart == restart::temporary)
      dropped.push_back(i->spec.id);
  }
  std::erase_if(children_, [&](const child& c) {
    return std::find(dropped.begin(), dropped.end(), c.spec.id) != dropped.end();
  });
  std::vector<std::string> group;
  bool in = spec_.strategy == strategy::one_for_all;
  for (auto& c : children_) {
    in = in || c.spec.id == id;
    if (in)
      group.push_back(c.spec.id);
  }
  return group;
}

void supervisor_core::restart_group(const std::vector<std::string>& ids,
                                    std::chrono::milliseconds delay) {
  for (auto& id : ids) {
    auto* c = find(id);
    if (c == nullptr || c->now || c->state != child_info::restarting)
      continue; // terminated or started meanwhile
    ++c->restarts;
    if (auto err = start(*c, supervisor_event::restarted, delay)) {
      c->state = child_info::restarting;
      on_failure(id, detail_of(err));
      return;
    }
  }
}

void supervisor_core::on_restart_due(std::uint64_t token) {
  auto i = pending_.find(token);
  if (i == pending_.end())
    return; // cancelled by terminate_child
  auto due = std::move(i->second);
  pending_.erase(i);
  restart_group(due.ids, due.delay);
}

std::chrono::milliseconds supervisor_core::next_delay(child& c) {
  auto& policy = spec_.backoff;
  if (policy.max.count() == 0)
    return {};
  auto quiet = policy.reset_after.count() > 0 ? policy.reset_after : policy.max;
  if (std::chrono::steady_clock::now() - c.since >= quiet)
    c.backoff_step = 0;
  auto base = policy.min;
  for (std::size_t i = 0; i < c.backoff_step && base < policy.max; ++i)
    base *= 2;
  base = std::min(base, policy.max);
  ++c.backoff_step;
  std::uniform_real_distribution<double> share{0.0, policy.random_factor};
  auto stretched = static_cast<double>(base.count()) * (1.0 + share(random_));
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(stretched))};
}

void supervisor_core::give_up(const std::string& why) {
  report(supervisor_event::gave_up, nullptr, why);
  for (auto i = children_.rbegin(); i != children_.rend(); ++i)
    stop(*i);
  drop_standby();
  pending_.clear();
  finished_ = true;
  exit_reason_ = make_caf_error(errc::supervisor_gave_up, path_ + ": " + why);
}

void supervisor_core::shut_down(const std::string& why) {
  if (finished_)
    return;
  for (auto i = children_.rbegin(); i != children_.rend(); ++i)
    if (i->now) {
      stop(*i);
      report(supervisor_event::terminated, &*i, "shutdown");
    }
  pending_.clear();
  drop_standby();
  report(supervisor_event::shut_down, nullptr, why);
  finished_ = true;
  exit_reason_ = caf::exit_reason::user_shutdown;
}

void supervisor_core::check_auto_shutdown(const child& ended) {
  if (!ended.spec.significant || spec_.auto_shutdown == auto_shutdown::never)
    return;
  if (spec_.auto_shutdown == auto_shutdown::all_significant)
    for (auto& c : children_)
      if (c.spec.significant && c.state != child_info::terminated)
        return;
  shut_down("auto_shutdown: significant child \"" + ended.spec.id + "\" ended");
}

void supervisor_core::report(supervisor_event::kind_type kind, const child* c,
                             std::string reason, std::optional<int> exitcode,
                             std::chrono::milliseconds delay) {
  supervisor_event event;
  event.kind = kind;
  event.supervisor = path_;
  if (c != nullptr) {
    event.child = c->spec.id;
    event.restarts = c->restarts;
  }
  event.reason = std::move(reason);
  event.exitcode = exitcode;
  event.delay = delay;
  events_->publish(event);
}

caf::error supervisor_core::validate(const child_spec& spec) const {
  supervisor_spec alone{spec_.strategy, 1, spec_.period, spec_.auto_shutdown, {}, {spec}};
  if (auto err = validate(alone))
    return err;
  if (std::any_of(children_.begin(), children_.end(),
                  [&](const child& c) { return c.spec.id == spec.id; }))
    return bad_spec("a child with the id \"" + spec.id + "\" exists already");
  return {};
}

} // namespace proctor::internal
