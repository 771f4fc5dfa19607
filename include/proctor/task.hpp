#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/errc.hpp"
#include "proctor/detail/task_registry.hpp"

/// Registers a free function so that other processes of this binary can run
/// it by name: `PROCTOR_TASK(square);` at namespace scope, once per function.
/// Its parameters and result must be CAF-serializable (`inspect`).
#define PROCTOR_TASK(fn)                                                       \
  static const ::proctor::internal::task_registrar<&fn>                        \
    proctor_task_registrar_##fn {                                              \
    #fn                                                                        \
  }

namespace proctor {

/// A registered function with its arguments, bound now and run later
/// elsewhere: `proctor::call(setup, "config.json")`.
struct task_call {
  internal::bound_task bound;
};

template <class R, class... Ps, class... Ts>
task_call call(R (*fn)(Ps...), Ts&&... args) {
  return {internal::bind_task(fn, std::forward<Ts>(args)...)};
}

} // namespace proctor
