// libFuzzer's entry point for the target named by PROCTOR_FUZZ_TARGET.
#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return proctor::fuzz::PROCTOR_FUZZ_TARGET(data, size);
}
