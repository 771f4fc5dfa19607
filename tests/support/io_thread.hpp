#pragma once

#include "transport/service_thread.hpp"

namespace proctor::testing {

/// An io_context running on its own thread for the life of the object.
using io_thread = internal::service_thread;

} // namespace proctor::testing
