#pragma once

#include <string>
#include <vector>

namespace proctor::internal {

/// The argv- or envp-style array of `strings`: pointers into them, then a
/// null. Valid while `strings` lives unchanged.
inline std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace proctor::internal
