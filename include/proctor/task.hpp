#pragma once

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "proctor/errc.hpp"

/// Registers a free function so that other processes of this binary can run
/// it by name: `PROCTOR_TASK(square);` at namespace scope, once per function.
/// Its parameters and result must be CAF-serializable (`inspect`).
#define PROCTOR_TASK(fn)                                                       \
  static const ::proctor::internal::task_registrar<&fn>                        \
    proctor_task_registrar_##fn {                                              \
    #fn                                                                        \
  }

namespace proctor::internal {

/// Runs a task in a worker: decodes its arguments and calls it. Returns the
/// process exit code it implies (an int result, else 0).
using task_runner = int (*)(std::string_view args);

struct task_entry {
  std::string name;
  const void* address;
  task_runner run;
};

void register_task(std::string name, const void* address, task_runner run);

/// nullptr if no PROCTOR_TASK registered the function at `address`.
const task_entry* find_task(const void* address) noexcept;

/// nullptr if no PROCTOR_TASK registered `name`.
const task_entry* find_task(std::string_view name) noexcept;

/// The sorted names of every registered task (part of the fingerprint).
std::vector<std::string> task_names();

template <class T>
struct function_traits;

template <class R, class... Ps>
struct function_traits<R (*)(Ps...)> {
  using result = R;
  using arguments = std::tuple<std::decay_t<Ps>...>;
};

/// The running runtime's serialization context, through which actor handles
/// (and so queue, lock and pipe handles) in arguments become proxies.
caf::execution_unit* serialization_unit() noexcept;

template <class Tuple>
std::string encode_arguments(Tuple& args) {
  std::vector<char> buf;
  caf::binary_serializer sink{serialization_unit(), buf};
  if (auto err = std::apply([&](auto&... xs) { return sink(xs...); }, args))
    throw error(errc::bad_argument, "proctor: cannot serialize the task's arguments");
  return {buf.begin(), buf.end()};
}

template <auto Fn>
int run_task(std::string_view bytes) {
  using traits = function_traits<decltype(Fn)>;
  typename traits::arguments args;
  caf::binary_deserializer source{serialization_unit(), bytes.data(), bytes.size()};
  if (auto err = std::apply([&](auto&... xs) { return source(xs...); }, args);
      err || source.remaining() != 0)
    throw error(errc::bad_argument, "proctor: the task's arguments do not decode");
  if constexpr (std::is_same_v<typename traits::result, int>)
    return std::apply(Fn, std::move(args));
  else {
    std::apply(Fn, std::move(args));
    return 0;
  }
}

template <auto Fn>
struct task_registrar {
  explicit task_registrar(const char* name) {
    register_task(name, reinterpret_cast<const void*>(Fn), &run_task<Fn>);
  }
};

/// The registered entry of `fn` and its arguments, converted to the types of
/// its parameters and encoded. Throws errc::unregistered_task.
template <class R, class... Ps, class... Ts>
std::pair<const task_entry*, std::string> bind_task(R (*fn)(Ps...), Ts&&... xs) {
  static_assert(sizeof...(Ps) == sizeof...(Ts),
                "proctor: wrong number of arguments for the task");
  auto* entry = find_task(reinterpret_cast<const void*>(fn));
  if (entry == nullptr)
    throw error(errc::unregistered_task,
                "proctor: the function is not registered; add PROCTOR_TASK(name) "
                "next to its definition");
  std::tuple<std::decay_t<Ps>...> args{std::forward<Ts>(xs)...};
  return {entry, encode_arguments(args)};
}

} // namespace proctor::internal
