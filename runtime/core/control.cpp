// Control requests between runtimes, on the link request layer
// (actors/remote/link_requests.hpp): "spawn" (a worker's parent only),
// "lookup" (any link), "open" and "names" (links a manager accepted).
#include "runtime/core/runtime_impl.hpp"

#include <caf/actor_registry.hpp>

#include "actors/wire/segments.hpp"
#include "runtime/core/errors.hpp"

namespace proctor::internal {

namespace {

caf::error no_directory() {
  return make_caf_error(errc::not_published, "this endpoint is not a manager's");
}

} // namespace

void runtime_impl::serve_control() {
  served_.serve<lookup_request>([this](link&, lookup_request& request)
                                  -> caf::expected<actor_address> {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = published_.find(request.name); i != published_.end() && i->second)
      return actor_address{i->second->node(), i->second->id()};
    if (auto named = names_->find(request.name)) // a registered name, in the master
      return actor_address{named->node(), named->id()};
    return make_caf_error(errc::not_published,
                          "no actor published as \"" + request.name + "\"");
  });
  served_.serve<open_request>([this](link& from, open_request& request)
                                -> caf::expected<open_request::reply_type> {
    if (auto directory = directory_of(from, request.endpoint))
      return directory->open(request);
    return no_directory();
  });
  served_.serve<names_request>([this](link& from, names_request& request)
                                 -> caf::expected<names_request::reply_type> {
    if (auto directory = directory_of(from, request.endpoint))
      return directory->names();
    return no_directory();
  });
  served_.serve<spawn_request>([this](link& from, spawn_request& request)
                                 -> caf::expected<actor_address> {
    if (&from != parent_link_)
      return make_caf_error(errc::bad_argument, "request \"spawn\" is not served here");
    return spawn_hosted(request.name, request.args);
  });
}

std::error_code runtime_impl::on_control(link& from, frame_kind kind,
                                         std::span<const char> payload) {
  switch (kind) {
    case frame_kind::reply:
      return requests_.on_reply(from, payload, take_frame_descriptors());
    case frame_kind::request:
      return served_.on_request(from, payload);
    default:
      // run_task from anyone but a worker's parent: nothing received runs.
      return errc::unknown_frame_kind;
  }
}

void runtime_impl::link_closed(link& l, std::error_code reason, const std::string& detail) {
  requests_.fail_all(l, static_cast<errc>(reason.value()), detail);
  auto why = make_caf_error(static_cast<errc>(reason.value()), detail);
  if (auto lost = node_link_closed(l, detail.empty() ? reason.message() : detail))
    why = make_caf_error(errc::node_down, *lost);
  router_->link_down(l, why);
}

caf::strong_actor_ptr runtime_impl::spawn_in(child_process& child, const std::string& name,
                                             const std::string& args) {
  auto reply = requests_.call(*child.channel, spawn_request{name, args}, std::nullopt);
  if (!reply) {
    auto [code, detail] = parts_of(reply.error(), *system_);
    if (code == errc::connection_closed)
      throw error(errc::spawn_failed, "proctor: the worker ended before spawning " + name);
    throw_error(code, "proctor: " + detail);
  }
  return router_->proxy_for(reply->node, reply->id);
}

void runtime_impl::publish(caf::strong_actor_ptr actor, const std::string& name) {
  if (!actor)
    throw error(errc::bad_argument, "proctor: cannot publish an invalid actor handle");
  if (actor->node() == system_->node())
    system_->registry().put(actor->id(), actor);
  std::lock_guard<std::mutex> guard{mtx_};
  published_[name] = std::move(actor);
}

} // namespace proctor::internal
