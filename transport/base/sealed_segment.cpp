#include "transport/base/sealed_segment.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "transport/base/segment_pool.hpp"

namespace proctor::internal {

namespace {

/// What a receiver insists on: nobody can write, grow or shrink it.
constexpr int required_seals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;

[[noreturn]] void refused(const char* what) {
  throw error(errc::resource_exhausted,
              std::string{"proctor: cannot make shared memory: "} + what + ": "
                + std::strerror(errno));
}

scoped_fd make_memfd(std::size_t size) {
  scoped_fd fd{::memfd_create("proctor-bytes", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (!fd)
    refused("memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    refused("ftruncate");
  return fd;
}

} // namespace

std::shared_ptr<sealed_segment> sealed_segment::seal_and_map(scoped_fd fd,
                                                             std::size_t size) {
  if (::fcntl(fd.get(), F_ADD_SEALS, required_seals | F_SEAL_SEAL) != 0)
    refused("F_ADD_SEALS");
  auto* data = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (data == MAP_FAILED)
    refused("mmap");
  return std::shared_ptr<sealed_segment>{
    new sealed_segment(std::move(fd), static_cast<const std::byte*>(data), size)};
}

sealed_segment::~sealed_segment() {
  if (owns_mapping_)
    ::munmap(const_cast<std::byte*>(data_), size_);
}

std::shared_ptr<sealed_segment>
sealed_segment::copy_of(std::span<const std::byte> content) {
  auto fd = make_memfd(content.size());
  // Written through the descriptor: one copy, and no page faults.
  for (std::size_t done = 0; done < content.size();) {
    auto n = ::pwrite(fd.get(), content.data() + done, content.size() - done,
                      static_cast<off_t>(done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      refused("pwrite");
    done += static_cast<std::size_t>(n);
  }
  return seal_and_map(std::move(fd), content.size());
}

std::shared_ptr<sealed_segment> sealed_segment::adopt(scoped_fd fd, std::uint64_t size,
                                                      std::uint64_t limit,
                                                      std::string& why) {
  if (size == 0 || size > limit) {
    why = "a shared payload of " + std::to_string(size) + " bytes (the limit is "
          + std::to_string(limit) + ", --proctor.max-shared-size)";
    return nullptr;
  }
  // F_GET_SEALS answers only for memfds: a socket, a device or a file on
  // disk is refused here, before it could be mapped.
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & required_seals) != required_seals) {
    why = "a descriptor that is not a sealed memfd";
    return nullptr;
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)
      || static_cast<std::uint64_t>(st.st_size) != size) {
    why = "a shared payload whose size differs from the announced "
          + std::to_string(size) + " bytes";
    return nullptr;
  }
  auto n = static_cast<std::size_t>(size);
  // Not populated: this runs on the I/O thread, and populating 64 MiB
  // takes milliseconds there. The pages exist already (the sender wrote
  // them), so whoever reads faults them in on its own thread, cheaply.
  auto* data = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (data == MAP_FAILED) {
    why = std::string{"mmap of a shared payload failed: "} + std::strerror(errno);
    return nullptr;
  }
  return std::shared_ptr<sealed_segment>{
    new sealed_segment(std::move(fd), static_cast<const std::byte*>(data), n)};
}

// -- segment_writer -----------------------------------------------------------

segment_writer::segment_writer(std::size_t size) : size_(size) {
  if (size == 0)
    return;
  if (auto* pool = segment_pool::current()) {
    slot_ = pool->take(size);
    data_ = slot_->writable();
    return;
  }
  fd_ = make_memfd(size);
  // Populated at once: the writer fills it all, and one call maps the pages
  // faster than a fault per page.
  auto* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                      fd_.get(), 0);
  if (data == MAP_FAILED)
    refused("mmap");
  data_ = static_cast<std::byte*>(data);
}

segment_writer::segment_writer(segment_writer&& other) noexcept
  : fd_(std::move(other.fd_)), data_(other.data_), size_(other.size_),
    slot_(std::move(other.slot_)) {
  other.data_ = nullptr;
  other.size_ = 0;
}

segment_writer& segment_writer::operator=(segment_writer&& other) noexcept {
  if (this != &other) {
    unmap();
    fd_ = std::move(other.fd_);
    data_ = other.data_;
    size_ = other.size_;
    slot_ = std::move(other.slot_);
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

segment_writer::~segment_writer() {
  unmap();
}

void segment_writer::unmap() noexcept {
  if (slot_) {
    slot_->drop(); // the pool's mapping stays
    slot_.reset();
  } else if (data_ != nullptr) {
    ::munmap(data_, size_);
  }
  data_ = nullptr;
}

std::shared_ptr<sealed_segment> segment_writer::seal() {
  if (slot_) {
    auto sealed = std::make_shared<pooled_segment>(slot_, size_);
    unmap();
    size_ = 0;
    return sealed;
  }
  if (!fd_)
    throw error(errc::invalid_state, "proctor: a sealed or empty segment_writer");
  // F_SEAL_WRITE is refused while a writable mapping exists.
  unmap();
  auto size = size_;
  size_ = 0;
  return sealed_segment::seal_and_map(std::move(fd_), size);
}

} // namespace proctor::internal
