#pragma once

// The registry behind actor.hpp and its macro; not API.

#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>

namespace proctor::internal {

using actor_factory = caf::strong_actor_ptr (*)(caf::actor_system&);

struct actor_entry {
  std::string name;
  const void* address;
  actor_factory make;
};

void register_actor(std::string name, const void* address, actor_factory make);

const actor_entry* find_actor(const void* address) noexcept;

const actor_entry* find_actor(const std::string& name) noexcept;

std::vector<std::string> actor_names();

// CAF 0.17 keeps the arguments of a spawn in a shared_ptr that is null for
// none and dereferences it anyway; one unused argument keeps that defined.
template <auto Fn, class R, class Self>
R call_ignoring_tag(Self* self, int) {
  return Fn(self);
}

template <auto Fn, class R, class Self>
caf::strong_actor_ptr spawn_registered(caf::actor_system& sys, R (*)(Self*)) {
  return caf::actor_cast<caf::strong_actor_ptr>(
    sys.spawn(&call_ignoring_tag<Fn, R, Self>, 0));
}

template <auto Fn>
struct actor_registrar {
  static caf::strong_actor_ptr make(caf::actor_system& sys) {
    return spawn_registered<Fn>(sys, Fn);
  }

  explicit actor_registrar(const char* name) {
    register_actor(name, reinterpret_cast<const void*>(Fn), &make);
  }
};

} // namespace proctor::internal
