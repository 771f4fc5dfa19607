#include "transport/base/segment_pool.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

/// Fixed in size, and open to one more seal: F_SEAL_WRITE at graduation.
constexpr int slot_seals = F_SEAL_GROW | F_SEAL_SHRINK;

[[noreturn]] void refused(const char* what) {
  throw error(errc::resource_exhausted,
              std::string{"proctor: cannot make shared memory: "} + what + ": "
                + std::strerror(errno));
}

std::byte* map(int fd, std::size_t size, int protection) {
  auto* data = ::mmap(nullptr, size, protection, MAP_SHARED | MAP_POPULATE, fd, 0);
  return data == MAP_FAILED ? nullptr : static_cast<std::byte*>(data);
}

/// Set once, never freed: read from any thread, and slots refer to it
/// until the process ends.
std::atomic<segment_pool*> the_pool{nullptr};

} // namespace

scoped_fd reopen_read_only(int fd) {
  auto path = "/proc/self/fd/" + std::to_string(fd);
  return scoped_fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
}

// -- pool_slot ------------------------------------------------------------------

pool_slot::~pool_slot() {
  if (rw_ != nullptr)
    ::munmap(rw_, capacity_);
  ::munmap(const_cast<std::byte*>(ro_), capacity_);
}

void pool_slot::hold() {
  std::lock_guard<std::mutex> guard{mtx_};
  ++users_;
}

void pool_slot::drop() {
  std::unique_lock<std::mutex> guard{mtx_};
  --users_;
  settle(guard);
}

void pool_slot::lend() {
  bool first = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    first = loans_++ == 0;
  }
  if (first)
    pool_.lent(shared_from_this());
}

void pool_slot::returned() {
  std::unique_lock<std::mutex> guard{mtx_};
  if (loans_ == 0)
    return; // more returns than loans: a parent that lies
  --loans_;
  settle(guard);
}

void pool_slot::settle(std::unique_lock<std::mutex>& guard) {
  if (users_ != 0 || loans_ != 0)
    return;
  bool graduated = graduated_;
  guard.unlock();
  pool_.idle(shared_from_this(), graduated);
}

bool pool_slot::graduate() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (graduated_)
    return sealed_;
  graduated_ = true;
  // F_SEAL_WRITE is refused while a writable mapping exists.
  ::munmap(rw_, capacity_);
  rw_ = nullptr;
  sealed_ = ::fcntl(fd_.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) == 0;
  return sealed_;
}

// -- pooled_segment -------------------------------------------------------------

pooled_segment::pooled_segment(std::shared_ptr<pool_slot> slot, std::size_t size)
  : sealed_segment(slot->readable(), size), slot_(std::move(slot)) {
  slot_->hold();
}

pooled_segment::~pooled_segment() {
  slot_->drop();
}

// -- segment_pool ---------------------------------------------------------------

segment_pool* segment_pool::current() noexcept {
  return the_pool.load(std::memory_order_acquire);
}

void segment_pool::enable() {
  if (the_pool.load(std::memory_order_acquire) != nullptr)
    return;
  auto* pool = new segment_pool;
  segment_pool* none = nullptr;
  if (!the_pool.compare_exchange_strong(none, pool, std::memory_order_acq_rel))
    delete pool;
}

std::shared_ptr<pool_slot> segment_pool::take(std::size_t size) {
  std::shared_ptr<pool_slot> slot;
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    quiet_ = false;
    // A free slot of just that size: results of one task tend to be of one
    // size, and a value fills its whole memfd, as a sealed segment does
    // (so that it can graduate to one).
    if (auto i = free_.find(size); i != free_.end()) {
      slot = std::move(i->second);
      free_bytes_ -= i->first;
      free_.erase(i);
    } else {
      id = ++last_id_;
    }
  }
  if (slot) {
    std::memset(slot->writable(), 0, size);
    slot->hold();
    return slot;
  }
  auto capacity = size;
  scoped_fd fd{::memfd_create("proctor-lent", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (!fd)
    refused("memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(capacity)) != 0)
    refused("ftruncate");
  if (::fcntl(fd.get(), F_ADD_SEALS, slot_seals) != 0)
    refused("F_ADD_SEALS");
  // Both mappings populated once, and kept: reusing the slot faults nothing.
  auto* rw = map(fd.get(), capacity, PROT_READ | PROT_WRITE);
  if (rw == nullptr)
    refused("mmap");
  // Read-only through a read-only descriptor: graduate() can seal it
  // against writes while this mapping stays.
  auto reader = reopen_read_only(fd.get());
  auto* ro = reader ? map(reader.get(), capacity, PROT_READ) : nullptr;
  if (ro == nullptr) {
    ::munmap(rw, capacity);
    refused("mmap");
  }
  slot.reset(new pool_slot(*this, id, std::move(fd), rw, ro, capacity));
  slot->hold();
  return slot;
}

void segment_pool::returned(std::uint64_t id) {
  std::shared_ptr<pool_slot> slot;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = lent_.find(id); i != lent_.end())
      slot = i->second;
  }
  if (slot)
    slot->returned();
}

void segment_pool::trim() {
  std::multimap<std::size_t, std::shared_ptr<pool_slot>> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  dropped.swap(free_);
  free_bytes_ = 0;
  quiet_ = true;
}

std::size_t segment_pool::free_slots() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return free_.size();
}

void segment_pool::lent(const std::shared_ptr<pool_slot>& slot) {
  std::lock_guard<std::mutex> guard{mtx_};
  lent_[slot->id()] = slot;
}

void segment_pool::idle(std::shared_ptr<pool_slot> slot, bool graduated) {
  std::shared_ptr<pool_slot> dropped; // unmapped outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = lent_.find(slot->id()); i != lent_.end())
    dropped = std::move(i->second), lent_.erase(i);
  // Quiet since the last trim: a slot given back late goes at once, or it
  // would keep its memory until the next busy spell.
  if (graduated || quiet_ || free_bytes_ + slot->capacity() > max_free_bytes)
    return;
  free_bytes_ += slot->capacity();
  free_.emplace(slot->capacity(), std::move(slot));
}

} // namespace proctor::internal
