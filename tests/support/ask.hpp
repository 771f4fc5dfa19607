#pragma once

// A request from a test and its one-value reply, or a test failure.

#include <chrono>

#include <gtest/gtest.h>

#include <caf/actor.hpp>
#include <caf/scoped_actor.hpp>

namespace proctor::testing {

template <class T>
T ask(caf::scoped_actor& self, const caf::actor& dest, auto... xs) {
  T result{};
  self->request(dest, std::chrono::seconds{30}, xs...)
    .receive([&](T x) { result = x; },
             [&](caf::error& err) { ADD_FAILURE() << self->system().render(err); });
  return result;
}

} // namespace proctor::testing
