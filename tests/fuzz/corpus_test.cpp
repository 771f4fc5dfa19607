// Replays every fuzz corpus input through its target, so that an input that
// once crashed stays fixed, also in builds without libFuzzer.
#include "tests/fuzz/targets.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

class fuzz_corpus : public ::testing::TestWithParam<proctor::fuzz::target> {};

TEST_P(fuzz_corpus, every_input_runs_clean) {
  auto dir = fs::path{PROCTOR_FUZZ_CORPUS_DIR} / GetParam().name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " holds no seed corpus";
  std::size_t inputs = 0;
  for (auto& entry : fs::directory_iterator{dir}) {
    if (!entry.is_regular_file())
      continue;
    std::ifstream in{entry.path(), std::ios::binary};
    std::vector<char> bytes{std::istreambuf_iterator<char>{in}, {}};
    SCOPED_TRACE(entry.path().string());
    GetParam().run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++inputs;
  }
  EXPECT_GT(inputs, 0u);
}

INSTANTIATE_TEST_SUITE_P(targets, fuzz_corpus,
                         ::testing::ValuesIn(proctor::fuzz::all_targets().begin(),
                                             proctor::fuzz::all_targets().end()),
                         [](const auto& info) { return std::string{info.param.name}; });

} // namespace
