// The name registry: the master holds the cluster's one table (names_);
// a worker asks its parent and a node its master, over the link request
// layer, and both pass on what their own workers ask. Threads: the
// requests are served on the io thread, by the master at once (the table
// never blocks), elsewhere passed on from the blocking-work thread; the
// API calls block their caller for the round trip.
#include "runtime/core/runtime_impl.hpp"

#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/registry/registry_requests.hpp"
#include "proctor/registry.hpp"
#include "proctor/runtime.hpp"
#include "runtime/core/errors.hpp"

namespace proctor {

namespace internal {

namespace {

actor_address address_of(const caf::strong_actor_ptr& actor) {
  return actor ? actor_address{actor->node(), actor->id()} : actor_address{};
}

actor_address address_of(const caf::actor_addr& actor) {
  return actor ? actor_address{actor.node(), actor.id()} : actor_address{};
}

caf::error master_unreachable() {
  return make_caf_error(errc::connection_closed, "the master that holds the names is not reachable");
}

/// The link to ask, or throws if the holder is unreachable.
link& holder_link(const std::shared_ptr<link>& holder) {
  if (!holder)
    throw error(errc::connection_closed,
                "proctor: the master that holds the names is not reachable");
  return *holder;
}

[[noreturn]] void throw_from(const caf::error& failure, caf::actor_system& sys,
                             const std::string& name) {
  auto [code, detail] = parts_of(failure, sys);
  throw_error(code, "proctor: name \"" + name + "\": " + detail);
}

std::string not_registered_text(const std::string& name) {
  return "no actor is registered as \"" + name + "\"";
}

} // namespace

std::optional<std::shared_ptr<link>> runtime_impl::registry_holder() {
  if (role_ == process_role::worker)
    return router_->default_route();
  std::lock_guard<std::mutex> guard{mtx_};
  if (join_endpoint_.empty())
    return std::nullopt;
  return master_link_;
}

bool runtime_impl::is_member_link(const link& l) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (node_links_.count(&l) != 0)
    return true;
  for (auto& child : children_)
    if (child->channel.get() == &l)
      return true;
  return false;
}

caf::strong_actor_ptr runtime_impl::actor_at(const actor_address& address) {
  if (address.id == 0)
    return nullptr;
  if (address.node == system_->node())
    return system_->registry().get(address.id);
  return router_->proxy_for(address.node, address.id);
}

void runtime_impl::bind_name(const std::string& name, const caf::strong_actor_ptr& actor,
                             const caf::actor_addr& replacing) {
  if (name.empty() || !actor)
    throw error(errc::bad_argument, "proctor: a name and an actor handle are needed");
  auto holder = registry_holder();
  if (!holder) {
    // Askers in other processes reach a local actor by its id.
    if (actor->node() == system_->node())
      system_->registry().put(actor->id(), actor);
    auto code = names_->bind(name, actor, address_of(replacing));
    if (code == errc::name_taken)
      throw error(code, "proctor: the name \"" + name + "\" is registered to another actor");
    if (code != errc::ok)
      throw error(code, "proctor: cannot register \"" + name + "\"");
    return;
  }
  // The holder reaches a local actor by its id.
  if (actor->node() == system_->node())
    system_->registry().put(actor->id(), actor);
  auto reply = requests_.call(holder_link(*holder),
                              register_request{name, address_of(actor), address_of(replacing)},
                              std::nullopt);
  if (!reply)
    throw_from(reply.error(), *system_, name);
}

caf::strong_actor_ptr runtime_impl::find_name(const std::string& name) {
  auto holder = registry_holder();
  if (!holder)
    return names_->find(name);
  auto reply = requests_.call(holder_link(*holder), whereis_request{name}, std::nullopt);
  if (!reply) {
    if (reply.error().category() == error_category
        && static_cast<errc>(reply.error().code()) == errc::not_registered)
      return nullptr;
    throw_from(reply.error(), *system_, name);
  }
  return actor_at(*reply);
}

void runtime_impl::unbind_name(const std::string& name) {
  auto holder = registry_holder();
  if (!holder) {
    if (!names_->unbind(name))
      throw error(errc::not_registered, "proctor: " + not_registered_text(name));
    return;
  }
  auto reply = requests_.call(holder_link(*holder), unregister_request{name}, std::nullopt);
  if (!reply)
    throw_from(reply.error(), *system_, name);
}

namespace {

/// How the registry's requests are served: `admit` refuses what the link
/// may not ask; then the master answers with `serve`, and elsewhere the
/// request goes on to the holder from the blocking-work thread.
struct name_service {
  request_server& served;
  link_requests& requests;
  std::function<std::optional<std::shared_ptr<link>>()> holder;
  std::function<void(std::function<void()>)> run_blocking;

  template <class Request, class Admit, class Serve>
  void add(Admit admit, Serve serve) {
    served.serve_async<Request>(
      [svc = *this, admit, serve](link& from, Request& request,
                           request_server::responder<typename Request::reply_type> respond) {
        if (auto refused = admit(from, request)) {
          respond(std::move(*refused));
          return;
        }
        auto up = svc.holder();
        if (!up) {
          respond(serve(request));
          return;
        }
        if (!*up) {
          respond(master_unreachable());
          return;
        }
        svc.run_blocking([&requests = svc.requests, up = *up, request, respond] {
          respond(requests.call(*up, request, std::nullopt));
        });
      });
  }
};

} // namespace

void runtime_impl::serve_registry() {
  name_service service{served_, requests_, [this] { return registry_holder(); },
                       [this](std::function<void()> work) { run_blocking(std::move(work)); }};
  // Only a worker or node of this runtime binds names; a peer looks up.
  auto members_only = [this](link& from, std::string_view kind) -> std::optional<caf::error> {
    if (is_member_link(from))
      return std::nullopt;
    return make_caf_error(errc::bad_argument,
                          "request \"" + std::string{kind} + "\" is not served on a peer's link");
  };
  service.template add<register_request>(
    [this, members_only](link& from, register_request& request) {
      auto refused = members_only(from, register_request::kind);
      // What a member names lives behind it, or here.
      if (!refused && request.actor.node != system_->node())
        router_->learn_route(request.actor.node, from.shared_from_this());
      return refused;
    },
    [this](register_request& request) -> caf::expected<register_request::reply_type> {
      auto actor = actor_at(request.actor);
      if (!actor)
        return make_caf_error(errc::bad_argument, "the actor to register is gone");
      auto code = names_->bind(request.name, actor, request.replacing);
      if (code == errc::name_taken)
        return make_caf_error(code, "the name \"" + request.name
                                      + "\" is registered to another actor");
      if (code != errc::ok)
        return make_caf_error(code, "cannot register \"" + request.name + "\"");
      return register_request::reply_type{};
    });
  service.template add<whereis_request>(
    [](link&, whereis_request&) -> std::optional<caf::error> { return std::nullopt; },
    [this](whereis_request& request) -> caf::expected<actor_address> {
      if (auto actor = names_->find(request.name))
        return address_of(actor);
      return make_caf_error(errc::not_registered, not_registered_text(request.name));
    });
  service.template add<unregister_request>(
    [members_only](link& from, unregister_request&) {
      return members_only(from, unregister_request::kind);
    },
    [this](unregister_request& request) -> caf::expected<unregister_request::reply_type> {
      if (!names_->unbind(request.name))
        return make_caf_error(errc::not_registered, not_registered_text(request.name));
      return unregister_request::reply_type{};
    });
}

} // namespace internal

namespace internal {

void register_handle(const std::string& name, caf::strong_actor_ptr actor) {
  impl_of(runtime::current()).bind_name(name, actor);
}

caf::strong_actor_ptr whereis_handle(const std::string& name) {
  return impl_of(runtime::current()).find_name(name);
}

namespace {

/// Passes each message on to whatever `name` is bound to when it arrives.
caf::behavior name_forwarder(caf::event_based_actor* self, std::string name) {
  self->set_default_handler([name](caf::scheduled_actor* me, caf::message_view& view)
                              -> caf::result<caf::message> {
    auto* rt = current_runtime();
    caf::strong_actor_ptr target;
    try {
      if (rt != nullptr)
        target = rt->find_name(name);
    } catch (const error&) {
      target = nullptr;
    }
    if (!target)
      return make_caf_error(errc::not_registered, not_registered_text(name));
    auto* self = static_cast<caf::event_based_actor*>(me);
    return self->delegate(caf::actor_cast<caf::actor>(target), view.move_content_to_message());
  });
  return {[](caf::unit_t) {}};
}

} // namespace

} // namespace internal

void unregister(const std::string& name) {
  internal::impl_of(runtime::current()).unbind_name(name);
}

caf::actor named(const std::string& name) {
  auto& rt = runtime::current();
  auto forwarder = rt.system().spawn(internal::name_forwarder, name);
  internal::impl_of(rt).own(forwarder);
  return forwarder;
}

} // namespace proctor
