#include "actors/wire/loans.hpp"

#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "transport/base/segment_pool.hpp"

namespace proctor::internal {

namespace {

/// What a borrower insists on: the memory can be neither grown nor shrunk
/// under its mapping. The worker may still write it (it recycles it once
/// given back): only a worker this process started lends.
constexpr int required_seals = F_SEAL_GROW | F_SEAL_SHRINK;

struct every_desk {
  std::mutex mtx;
  std::vector<std::weak_ptr<loan_desk>> desks;
};

every_desk& desks() {
  static every_desk all;
  return all;
}

} // namespace

std::shared_ptr<loan_desk> loan_desk::make(give_back_fn give_back) {
  std::shared_ptr<loan_desk> desk{new loan_desk(std::move(give_back))};
  auto& all = desks();
  std::lock_guard<std::mutex> guard{all.mtx};
  std::erase_if(all.desks, [](auto& weak) { return weak.expired(); });
  all.desks.push_back(desk);
  return desk;
}

void loan_desk::trim() {
  std::vector<std::shared_ptr<mapping>> dropped; // unmapped outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  quiet_ = true;
  drop_unread(dropped, [] { return true; });
}

void loan_desk::drop_unread(std::vector<std::shared_ptr<mapping>>& dropped,
                            const std::function<bool()>& more) {
  for (auto i = kept_.begin(); i != kept_.end() && more();) {
    if (i->second.use_count() == 1) {
      kept_bytes_ -= i->second->size;
      dropped.push_back(std::move(i->second));
      i = kept_.erase(i);
    } else {
      ++i;
    }
  }
}

void loan_desk::trim_all() {
  std::vector<std::shared_ptr<loan_desk>> live;
  {
    auto& all = desks();
    std::lock_guard<std::mutex> guard{all.mtx};
    for (auto& weak : all.desks)
      if (auto desk = weak.lock())
        live.push_back(std::move(desk));
  }
  for (auto& desk : live)
    desk->trim();
}

void loan_desk::forget() {
  std::map<std::uint64_t, std::shared_ptr<mapping>> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  dropped.swap(kept_);
  kept_bytes_ = 0;
}

loan_desk::mapping::~mapping() {
  ::munmap(const_cast<std::byte*>(data), size);
}

/// A value's view of borrowed memory: the loan goes back with the last one.
class borrowed_segment final : public sealed_segment {
public:
  borrowed_segment(std::shared_ptr<loan_desk> desk, std::shared_ptr<loan_desk::mapping> memory,
                   const std::byte* data, std::size_t length, std::uint64_t id) noexcept
    : sealed_segment(data, length), desk_(std::move(desk)), memory_(std::move(memory)),
      id_(id) {
  }

  ~borrowed_segment() override {
    desk_->give_back(id_);
    desk_->let_go(id_, std::move(memory_));
  }

  int fd() const noexcept override {
    return -1;
  }

  bool borrowed() const noexcept override {
    return true;
  }

private:
  std::shared_ptr<loan_desk> desk_;
  std::shared_ptr<loan_desk::mapping> memory_;
  std::uint64_t id_;
};

std::shared_ptr<const sealed_segment> loan_desk::borrow(scoped_fd fd, std::uint64_t capacity,
                                                        std::uint64_t id, std::uint64_t length,
                                                        std::uint64_t limit, std::string& why) {
  if (capacity == 0 || capacity > limit || length == 0 || length > capacity) {
    why = "a loan of " + std::to_string(length) + " of " + std::to_string(capacity)
          + " bytes (the limit is " + std::to_string(limit) + ", --proctor.max-shared-size)";
    give_back(id);
    return nullptr;
  }
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  struct stat st{};
  if (seals < 0 || (seals & required_seals) != required_seals || ::fstat(fd.get(), &st) != 0
      || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != capacity) {
    why = "a loan that is not a memfd of fixed size " + std::to_string(capacity) + " bytes";
    give_back(id);
    return nullptr;
  }
  std::shared_ptr<mapping> memory;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    quiet_ = false;
    if (auto i = kept_.find(id); i != kept_.end() && i->second->inode == st.st_ino
                                  && i->second->device == st.st_dev
                                  && i->second->size == capacity)
      memory = i->second;
  }
  if (!memory) {
    // Not populated: on the io thread. Reading faults the pages in once;
    // the mapping is kept for the slot's next loans.
    // Through a read-only descriptor: the worker may still seal the slot
    // against writes (to pass it on) while this process keeps it mapped.
    auto reader = reopen_read_only(fd.get());
    auto* data = reader ? ::mmap(nullptr, capacity, PROT_READ, MAP_SHARED, reader.get(), 0)
                        : MAP_FAILED;
    if (data == MAP_FAILED) {
      why = "mmap of a loan failed";
      give_back(id);
      return nullptr;
    }
    memory = std::make_shared<mapping>();
    memory->device = st.st_dev;
    memory->inode = st.st_ino;
    memory->data = static_cast<const std::byte*>(data);
    memory->size = capacity;
    keep(id, memory);
  }
  auto* data = memory->data;
  return std::make_shared<borrowed_segment>(shared_from_this(), std::move(memory), data,
                                            static_cast<std::size_t>(length), id);
}

void loan_desk::keep(std::uint64_t id, const std::shared_ptr<mapping>& memory) {
  std::vector<std::shared_ptr<mapping>> dropped; // unmapped outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = kept_.find(id); i != kept_.end()) {
    kept_bytes_ -= i->second->size;
    dropped.push_back(std::move(i->second));
    kept_.erase(i);
  }
  // Room first from the mappings no value reads: the worker may have freed
  // their slots, and a mapping kept here would keep their memory.
  auto full = [&] {
    return kept_.size() >= max_kept || kept_bytes_ + memory->size > max_kept_bytes;
  };
  drop_unread(dropped, full);
  if (full())
    return; // everything kept is read: this one goes with its last reader
  kept_bytes_ += memory->size;
  kept_.emplace(id, memory);
}

void loan_desk::let_go(std::uint64_t id, std::shared_ptr<mapping> memory) noexcept {
  std::shared_ptr<mapping> dropped; // unmapped outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  // Let go under the lock, so that a trim() that comes now counts right.
  auto kept = kept_.find(id);
  bool only_kept = kept != kept_.end() && kept->second == memory;
  memory.reset();
  // Quiet since the last trim: a mapping read by nobody goes now, or it
  // would keep the slot's memory until the next busy spell.
  if (quiet_ && only_kept && kept->second.use_count() == 1) {
    kept_bytes_ -= kept->second->size;
    dropped = std::move(kept->second);
    kept_.erase(kept);
  }
}

void loan_desk::give_back(std::uint64_t id) noexcept {
  try {
    give_back_(id);
  } catch (const std::exception&) {
    // The worker keeps the slot until it ends: bounded by its pool.
  }
}

} // namespace proctor::internal
