#pragma once

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

/// Registers a user type so that it can travel inside actor messages between
/// processes: `PROCTOR_MESSAGE_TYPE(point);` at namespace scope, where `point`
/// is default-constructible, copyable and has a CAF `inspect` overload. Every
/// process of the binary registers the same types under the same names (the
/// handshake's fingerprint covers them). For a name with commas, such as a
/// template instance, register an alias: `using points = std::vector<point>;`.
/// Task arguments need no registration: their types are known statically.
#define PROCTOR_MESSAGE_TYPE(type)                                             \
  PROCTOR_MESSAGE_TYPE_AT(type, __COUNTER__)
#define PROCTOR_MESSAGE_TYPE_AT(type, counter)                                 \
  PROCTOR_MESSAGE_TYPE_NAMED(type, counter)
#define PROCTOR_MESSAGE_TYPE_NAMED(type, counter)                              \
  static const ::proctor::internal::message_type_registrar<type>               \
    proctor_message_type_##counter {                                           \
    #type                                                                      \
  }

namespace proctor::internal {

using type_adder = void (*)(caf::actor_system_config&, const std::string& name);

struct message_type_entry {
  std::string name;
  type_adder add;
};

void register_message_type(std::string name, type_adder add);

/// Every registered type, in registration order.
const std::vector<message_type_entry>& message_types();

template <class T>
struct message_type_registrar {
  static void add(caf::actor_system_config& cfg, const std::string& name) {
    cfg.add_message_type<T>(name);
  }

  explicit message_type_registrar(const char* name) {
    register_message_type(name, &add);
  }
};

} // namespace proctor::internal
