#pragma once

// What actor code written against proctor uses, so that including
// <proctor/proctor.hpp> is enough for it: actors and their behaviors,
// blocking actors for the main thread, send/request, monitors and their
// down_msg.
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "proctor/detail/actor_registry.hpp"

/// Registers an actor function so that a worker process of this binary can
/// spawn it by name: `PROCTOR_ACTOR(echo);` at namespace scope, where
/// `caf::behavior echo(caf::event_based_actor*)` or a typed equivalent.
/// Parameters after `self` are its arguments, given at the spawn and
/// encoded as a task's are (values, strings, containers, handles).
#define PROCTOR_ACTOR(fn)                                                      \
  static const ::proctor::internal::actor_registrar<&fn>                       \
    proctor_actor_registrar_##fn {                                             \
    #fn                                                                        \
  }
