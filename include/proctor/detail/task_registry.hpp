#pragma once

// The registry behind task.hpp and its macro; not API.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/detail/segments.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

/// Runs a task in a worker: decodes its arguments and calls it. Returns the
/// process exit code it implies (an int result, else 0).
using task_runner = int (*)(std::string_view args);

/// Runs a task for a pool: calls it once per argument tuple among the
/// `count` encoded one after another in `args`, and returns their results
/// encoded one after another. Shared memory the arguments refer to comes
/// from `in`; the results' goes to `out`. A task's exception propagates.
using task_caller = std::vector<char> (*)(std::string_view args, std::uint32_t count,
                                          segment_source& in, segment_sink& out);

/// Re-encodes one result of a task with its shared memory inline, so that
/// it can be kept apart from the memory (a durable job's result).
using result_inliner = std::vector<char> (*)(const std::vector<char>& bytes,
                                             const segment_refs& refs);

struct task_entry {
  std::string name;
  const void* address;
  task_runner run;
  task_caller call;
  result_inliner inline_result;
};

void register_task(std::string name, const void* address, task_runner run,
                   task_caller call, result_inliner inline_result);

/// nullptr if no PROCTOR_TASK registered the function at `address`.
const task_entry* find_task(const void* address) noexcept;

/// The entry of the function at `address`; throws errc::unregistered_task,
/// telling the caller to add PROCTOR_TASK.
const task_entry& registered_task(const void* address);

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

/// A value as bytes, through the runtime's serialization context.
template <class T>
std::vector<char> encode_value(const T& x) {
  std::vector<char> bytes;
  caf::binary_serializer sink{serialization_unit(), bytes};
  if (sink(const_cast<T&>(x)))
    throw error(errc::bad_argument, "proctor: cannot serialize a value");
  return bytes;
}

/// The value that encode_value(x) made; throws errc::malformed_payload.
template <class T>
T decode_value(const std::vector<char>& bytes) {
  T x{};
  bounded_deserializer source{serialization_unit(), bytes.data(), bytes.size()};
  if (source(x) || source.remaining() != 0)
    throw error(errc::malformed_payload, "proctor: a received value does not decode");
  return x;
}

/// decode_value, taking shared memory from `shared` if it is given.
template <class T>
T decode_value(const std::vector<char>& bytes, segment_source* shared) {
  std::optional<source_scope> scope;
  if (shared != nullptr)
    scope.emplace(*shared);
  return decode_value<T>(bytes);
}

/// Collects the pipe ends offered (see pipe.hpp) by serialization on this
/// thread while it lives. Dropping what take() returns withdraws the offers
/// nobody claimed, which closes those ends.
class offer_collector {
public:
  /// How often an offer may be claimed: once (a process's arguments, a
  /// message), or again and again until it is withdrawn (a pool task's
  /// arguments: a retry hands the same descriptor to the next worker).
  enum claims { once, until_done };

  explicit offer_collector(claims mode = once);
  ~offer_collector();
  offer_collector(const offer_collector&) = delete;
  offer_collector& operator=(const offer_collector&) = delete;

  std::shared_ptr<void> take();

  claims mode() const noexcept {
    return mode_;
  }

private:
  claims mode_;
  offer_collector* outer_;
  std::vector<std::uint64_t> ids_;

  friend void note_offer(std::uint64_t id);
};

/// Records an offer in the innermost collector of this thread, if any.
void note_offer(std::uint64_t id);

/// A task and its encoded arguments, ready to be sent to a worker.
struct bound_task {
  const task_entry* entry = nullptr;
  std::string args;
  /// Keeps the pipe ends among the arguments offered until the task's
  /// process has ended.
  std::shared_ptr<void> offers;
  /// The shared memory of the proctor::bytes among the arguments, when
  /// bound for a pool (a process's arguments carry theirs inline).
  segment_refs segments;
};

template <auto Fn>
int run_task(std::string_view bytes) {
  using traits = function_traits<decltype(Fn)>;
  typename traits::arguments args;
  bounded_deserializer source{serialization_unit(), bytes.data(), bytes.size()};
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
std::vector<char> call_task(std::string_view bytes, std::uint32_t count,
                           segment_source& in, segment_sink& shared_out) {
  using traits = function_traits<decltype(Fn)>;
  using result = typename traits::result;
  bounded_deserializer source{serialization_unit(), bytes.data(), bytes.size()};
  std::vector<char> out;
  caf::binary_serializer sink{serialization_unit(), out};
  for (std::uint32_t i = 0; i < count; ++i) {
    typename traits::arguments args;
    // The scopes cover decoding and encoding only, never the call: what the
    // task itself encodes or decodes (a queue item) has scopes of its own.
    {
      source_scope scope{in};
      if (std::apply([&](auto&... xs) { return source(xs...); }, args))
        throw error(errc::bad_argument, "proctor: the task's arguments do not decode");
    }
    if constexpr (std::is_void_v<result>) {
      std::apply(Fn, std::move(args));
    } else {
      auto r = std::apply(Fn, std::move(args));
      sink_scope scope{shared_out};
      if (sink(r))
        throw error(errc::bad_argument, "proctor: cannot serialize the task's result");
    }
  }
  if (source.remaining() != 0)
    throw error(errc::bad_argument, "proctor: the task's arguments do not decode");
  return out;
}

template <auto Fn>
std::vector<char> inline_result(const std::vector<char>& bytes, const segment_refs& refs) {
  using result = typename function_traits<decltype(Fn)>::result;
  if constexpr (std::is_void_v<result>) {
    return bytes;
  } else {
    refs_source shared{refs, 0, refs.size()};
    auto value = decode_value<result>(bytes, &shared);
    return encode_value(value); // no sink in scope: shared memory goes inline
  }
}

template <auto Fn>
struct task_registrar {
  explicit task_registrar(const char* name) {
    register_task(name, reinterpret_cast<const void*>(Fn), &run_task<Fn>, &call_task<Fn>,
                  &inline_result<Fn>);
  }
};

/// Appends a task's argument tuple to `buf`; throws errc::bad_argument.
template <class Tuple>
void encode_arguments(std::vector<char>& buf, Tuple& args) {
  caf::binary_serializer sink{serialization_unit(), buf};
  if (std::apply([&](auto&... xs) { return sink(xs...); }, args))
    throw error(errc::bad_argument, "proctor: cannot serialize the task's arguments");
}

/// The registered entry of `fn` and its arguments, converted to the types of
/// its parameters and encoded. Throws errc::unregistered_task.
template <offer_collector::claims Claims = offer_collector::once, class R, class... Ps,
          class... Ts>
bound_task bind_task(R (*fn)(Ps...), Ts&&... xs) {
  static_assert(sizeof...(Ps) == sizeof...(Ts),
                "proctor: wrong number of arguments for the task");
  auto& entry = registered_task(reinterpret_cast<const void*>(fn));
  std::tuple<std::decay_t<Ps>...> args{std::forward<Ts>(xs)...};
  offer_collector offers{Claims};
  std::vector<char> buf;
  // A pool task's bytes travel as shared memory where they can.
  segment_sink shared;
  {
    std::optional<sink_scope> scope;
    if constexpr (Claims == offer_collector::until_done)
      scope.emplace(shared);
    encode_arguments(buf, args);
  }
  return {&entry, std::string{buf.begin(), buf.end()}, offers.take(), std::move(shared.refs)};
}

} // namespace proctor::internal
