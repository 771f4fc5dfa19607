// The test binary is also the worker binary: the runtime re-executes it, and
// in a worker the runtime's constructor never returns.
#include <gtest/gtest.h>

#include "proctor/runtime.hpp"
#include "tests/support/runtime.hpp"
#include "tests/support/subprocess.hpp"

namespace proctor::testing {

namespace {
runtime* the_runtime = nullptr;
} // namespace

runtime& test_runtime() {
  return *the_runtime;
}

} // namespace proctor::testing

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::testing::the_runtime = &rt;
  if (auto code = proctor::testing::run_helper(argc, argv))
    return *code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
