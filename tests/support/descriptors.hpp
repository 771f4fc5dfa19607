#pragma once

// What a test counts to prove that nothing leaked: this process's
// descriptors of one file, and its descriptors and mappings of the shared
// memory that proctor::bytes live in.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>

namespace proctor::testing {

inline ino_t inode_of(int fd) {
  struct stat st{};
  ::fstat(fd, &st);
  return st.st_ino;
}

/// How many descriptors of this process refer to the file `inode`.
inline std::size_t fds_on(ino_t inode) {
  std::size_t n = 0;
  for (auto& entry : std::filesystem::directory_iterator{"/proc/self/fd"}) {
    struct stat st{};
    if (::stat(entry.path().c_str(), &st) == 0 && st.st_ino == inode)
      ++n;
  }
  return n;
}

/// This process's descriptors whose target names `what` (a memfd's name).
inline std::size_t fds_naming(const std::string& what) {
  std::size_t n = 0;
  for (auto& entry : std::filesystem::directory_iterator{"/proc/self/fd"}) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().find(what) != std::string::npos)
      ++n;
  }
  return n;
}

/// This process's mappings of files whose names hold `what`.
inline std::size_t mappings_naming(const std::string& what) {
  std::ifstream maps{"/proc/self/maps"};
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find(what) != std::string::npos)
      ++n;
  return n;
}

/// This process's descriptors of proctor::bytes' shared memory.
inline std::size_t segment_fds() {
  return fds_naming("memfd:proctor-bytes");
}

/// This process's mappings of proctor::bytes' shared memory.
inline std::size_t segment_mappings() {
  return mappings_naming("memfd:proctor-bytes");
}

/// Descriptors and mappings of shared memory, together.
inline std::size_t segments_held() {
  return segment_fds() + segment_mappings();
}

} // namespace proctor::testing
