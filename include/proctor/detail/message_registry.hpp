#pragma once

// The registry behind message_type.hpp and its macro; not API.

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

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
