// The actor a pool's worker process hosts: it runs the tasks it is sent,
// one after another, on its own thread (a task may block for as long as it
// likes), and answers each with its results or the exception it threw.
#include "runtime/pool_protocol.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>

#include "proctor/actor.hpp"
#include "proctor/errc.hpp"
#include "proctor/task.hpp"
#include "runtime/runtime_impl.hpp"

namespace proctor::internal {

namespace {

/// What a task's failure looks like on the wire.
struct failure {
  errc code = errc::remote_error;
  std::string type;
  std::string what;
};

/// Runs `f`; a thrown exception becomes a failure instead.
template <class F>
std::optional<failure> catching(F f) {
  try {
    f();
    return std::nullopt;
  } catch (const error& e) {
    return failure{errc::remote_error, demangled(typeid(e)), e.what()};
  } catch (const std::exception& e) {
    return failure{errc::remote_error, demangled(typeid(e)), e.what()};
  } catch (...) {
    return failure{errc::remote_error, "unknown", "an exception of unknown type"};
  }
}

const task_entry& registered(const std::string& name) {
  auto* entry = find_task(name);
  if (entry == nullptr)
    throw error(errc::unregistered_task, "no PROCTOR_TASK named " + name + " in this binary");
  return *entry;
}

caf::behavior pool_worker(caf::event_based_actor* self, int) {
  return {
    [=](pool_init_atom, const std::string& task, const std::string& args) -> caf::message {
      auto failed = catching([&] { registered(task).run(args); });
      if (!failed)
        return caf::make_message(pool_ready_atom::value);
      // A worker without its initializer is no worker: end it.
      self->quit(caf::exit_reason::user_shutdown);
      return caf::make_message(pool_failed_atom::value, std::uint64_t{0},
                               static_cast<std::uint8_t>(failed->code), failed->type,
                               failed->what);
    },
    [=](pool_run_atom, std::uint64_t id, const std::string& task, std::uint32_t count,
        const std::string& args) -> caf::message {
      std::vector<char> results;
      auto start = std::chrono::steady_clock::now();
      auto failed = catching([&] { results = registered(task).call(args, count); });
      auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
      if (!failed)
        return caf::make_message(
          pool_result_atom::value, id, std::move(results),
          static_cast<std::uint32_t>(std::min<std::int64_t>(took.count(), UINT32_MAX)));
      return caf::make_message(pool_failed_atom::value, id,
                               static_cast<std::uint8_t>(failed->code), failed->type,
                               failed->what);
    },
    [=](pool_stop_atom) { self->quit(); },
  };
}

caf::strong_actor_ptr spawn_pool_worker(caf::actor_system& sys) {
  // The unused argument: see call_ignoring_tag in proctor/actor.hpp.
  return caf::actor_cast<caf::strong_actor_ptr>(sys.spawn<caf::detached>(pool_worker, 0));
}

} // namespace

void register_pool_worker() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const char tag = 0;
    register_actor(pool_worker_actor, &tag, &spawn_pool_worker);
  });
}

} // namespace proctor::internal
