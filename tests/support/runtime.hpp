#pragma once

#include "proctor/runtime.hpp"

namespace proctor::testing {

/// The runtime that the test binary's main created.
runtime& test_runtime();

} // namespace proctor::testing
