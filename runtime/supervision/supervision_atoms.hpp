#pragma once

#include <functional>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

namespace proctor::internal {

class supervisor_core;

/// A backoff delay is over: (restart_due_atom, uint64 token).
using restart_due_atom = caf::atom_constant<caf::atom("svrestart")>;

/// Time to start the standby worker: (refill_standby_atom).
using refill_standby_atom = caf::atom_constant<caf::atom("svstandby")>;

/// A call of the supervisor's handle, run on the supervisor's thread:
/// (supervisor_call_atom, shared_ptr<supervisor_call>). Never leaves the
/// process, so it need not serialize.
using supervisor_call_atom = caf::atom_constant<caf::atom("svcall")>;

struct supervisor_call {
  std::function<void(supervisor_core&)> work;
};

} // namespace proctor::internal

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<proctor::internal::supervisor_call>)
