#pragma once

#include "proctor/detail/message_registry.hpp"

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
