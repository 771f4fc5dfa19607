#include "transport/base/shared_block.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

/// What a holder insists on: the size is fixed, and so are the seals.
constexpr int required_seals = F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
/// What would make the memory read-only for its holders.
constexpr int write_seals = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

[[noreturn]] void refused(const char* what) {
  throw error(errc::resource_exhausted,
              std::string{"proctor: cannot make shared memory: "} + what + ": "
                + std::strerror(errno));
}

std::byte* map_writable(int fd, std::size_t size) {
  auto* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return data == MAP_FAILED ? nullptr : static_cast<std::byte*>(data);
}

} // namespace

shared_block::~shared_block() {
  ::munmap(data_, size_);
}

std::shared_ptr<shared_block> shared_block::create(std::size_t size) {
  if (size == 0)
    throw error(errc::bad_argument, "proctor: shared memory of 0 bytes");
  scoped_fd fd{::memfd_create("proctor-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (!fd)
    refused("memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    refused("ftruncate");
  if (::fcntl(fd.get(), F_ADD_SEALS, required_seals) != 0)
    refused("F_ADD_SEALS");
  auto* data = map_writable(fd.get(), size);
  if (data == nullptr)
    refused("mmap");
  return std::shared_ptr<shared_block>{new shared_block(std::move(fd), data, size)};
}

std::shared_ptr<shared_block> shared_block::adopt(scoped_fd fd, std::uint64_t size,
                                                  std::uint64_t limit, std::string& why) {
  if (size == 0 || size > limit) {
    why = "shared memory of " + std::to_string(size) + " bytes (the limit is "
          + std::to_string(limit) + ", --proctor.max-shared-size)";
    return nullptr;
  }
  // F_GET_SEALS answers only for memfds: a socket, a device or a file on
  // disk is refused here, before it could be mapped.
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & required_seals) != required_seals || (seals & write_seals) != 0) {
    why = "a descriptor that is not a memfd of fixed size";
    return nullptr;
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)
      || static_cast<std::uint64_t>(st.st_size) != size) {
    why = "shared memory whose size differs from the announced " + std::to_string(size)
          + " bytes";
    return nullptr;
  }
  auto n = static_cast<std::size_t>(size);
  auto* data = map_writable(fd.get(), n);
  if (data == nullptr) {
    why = std::string{"mmap of shared memory failed: "} + std::strerror(errno);
    return nullptr;
  }
  return std::shared_ptr<shared_block>{new shared_block(std::move(fd), data, n)};
}

} // namespace proctor::internal
