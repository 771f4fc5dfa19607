#pragma once

// The registry behind actor.hpp and its macro; not API.

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/scheduled_actor.hpp>

#include "proctor/detail/task_registry.hpp"

namespace proctor::internal {

/// Spawns a registered actor with its arguments, encoded one after another
/// as encode_actor_arguments made them; throws errc::bad_argument if they do
/// not decode as the function's parameters.
using actor_factory = caf::strong_actor_ptr (*)(caf::actor_system&, std::string_view args);

struct actor_entry {
  std::string name;
  const void* address;
  actor_factory make;
};

void register_actor(std::string name, const void* address, actor_factory make);

const actor_entry* find_actor(const void* address) noexcept;

const actor_entry* find_actor(const std::string& name) noexcept;

/// The entry of the actor function at `address`; throws
/// errc::unregistered_actor, telling the caller to add PROCTOR_ACTOR.
const actor_entry& registered_actor(const void* address);

std::vector<std::string> actor_names();

/// What an exception that escapes a registered actor ends it with: its
/// type and what() in proctor's remote_error, for monitors and supervisors.
caf::error describe_exception(caf::scheduled_actor* self, std::exception_ptr& x);

// CAF 0.17 keeps the arguments of a spawn in a shared_ptr that is null for
// none and dereferences it anyway; one unused argument keeps that defined.
template <auto Fn, class R, class Self, class... Ps>
R call_ignoring_tag(Self* self, int, Ps... xs) {
  if constexpr (std::is_base_of_v<caf::scheduled_actor, Self>)
    self->set_exception_handler(&describe_exception);
  return Fn(self, std::move(xs)...);
}

template <auto Fn, class R, class Self, class... Ps>
caf::strong_actor_ptr spawn_registered(caf::actor_system& sys, std::string_view bytes,
                                       R (*)(Self*, Ps...)) {
  std::tuple<std::decay_t<Ps>...> args;
  bounded_deserializer source{serialization_unit(), bytes.data(), bytes.size()};
  if (auto err = std::apply([&](auto&... xs) { return source(xs...); }, args);
      err || source.remaining() != 0)
    throw error(errc::bad_argument, "proctor: the actor's arguments do not decode");
  return std::apply(
    [&](auto&... xs) {
      return caf::actor_cast<caf::strong_actor_ptr>(
        sys.spawn(&call_ignoring_tag<Fn, R, Self, std::decay_t<Ps>...>, 0, std::move(xs)...));
    },
    args);
}

template <auto Fn>
struct actor_registrar {
  static caf::strong_actor_ptr make(caf::actor_system& sys, std::string_view args) {
    return spawn_registered<Fn>(sys, args, Fn);
  }

  explicit actor_registrar(const char* name) {
    register_actor(name, reinterpret_cast<const void*>(Fn), &make);
  }
};

/// The arguments after `self` of the actor function `fn`, converted to its
/// parameter types and encoded; throws errc::bad_argument.
template <class R, class Self, class... Ps, class... Ts>
std::string encode_actor_arguments(R (*)(Self*, Ps...), Ts&&... xs) {
  static_assert(sizeof...(Ps) == sizeof...(Ts),
                "proctor: wrong number of arguments for the actor");
  std::tuple<std::decay_t<Ps>...> args{std::forward<Ts>(xs)...};
  std::vector<char> buf;
  encode_arguments(buf, args);
  return {buf.begin(), buf.end()};
}

} // namespace proctor::internal
