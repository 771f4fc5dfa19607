#include "runtime/core/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/message.hpp>

#include "actors/errors.hpp"
#include "proctor/async_result.hpp"
#include "proctor/barrier.hpp"
#include "proctor/pipe.hpp"
#include "proctor/queue.hpp"

namespace proctor::internal {

void throw_error(errc code, const std::string& what) {
  switch (code) {
    case errc::queue_empty:
      throw queue_empty(what);
    case errc::queue_full:
      throw queue_full(what);
    case errc::timeout:
      throw timeout_error(what);
    case errc::end_of_pipe:
      throw end_of_pipe(what);
    case errc::broken_barrier:
      throw broken_barrier(what);
    case errc::worker_died:
      throw worker_died(what);
    case errc::task_timed_out:
      throw task_timed_out(what);
    case errc::pool_broken:
      throw pool_broken(what);
    case errc::pool_terminated:
      throw pool_terminated(what);
    default:
      throw error(code, what);
  }
}

error_parts parts_of(const caf::error& err, caf::actor_system& sys, errc otherwise) {
  if (err.category() != error_category)
    return {otherwise, sys.render(err)};
  return {static_cast<errc>(err.code()), detail_of(err)};
}

} // namespace proctor::internal
