#include "actors/shared/block_table.hpp"

#include <random>

#include "actors/errors.hpp"
#include "proctor/errc.hpp"
#include "transport/base/shared_block.hpp"

namespace proctor::internal {

namespace {

/// Longest name accepted, as Python's on Linux (NAME_MAX less its slash).
constexpr std::size_t max_name_length = 254;

caf::error no_block(const std::string& name) {
  return make_caf_error(errc::no_such_block,
                        "no shared memory block is named \"" + name + "\" on this host");
}

/// A name nobody chose: "psm_" and 16 random hex digits, as Python's
/// "psm_" names.
std::string fresh_name() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "psm_";
  auto bits = random();
  for (int i = 0; i < 16; ++i, bits >>= 4)
    out.push_back(digits[bits & 15]);
  return out;
}

} // namespace

caf::expected<block_table::granted> block_table::create(std::string name, std::uint64_t size,
                                                        block_holder who) {
  if (size == 0 || size > limit_)
    return make_caf_error(errc::bad_argument,
                          "shared memory of " + std::to_string(size)
                            + " bytes (it must be 1 to " + std::to_string(limit_)
                            + ", --proctor.max-shared-size)");
  if (name.size() > max_name_length || name.find('\0') != std::string::npos)
    return make_caf_error(errc::bad_argument, "a shared memory name must be at most "
                                                + std::to_string(max_name_length)
                                                + " bytes, without NUL");
  std::shared_ptr<shared_block> block;
  try {
    block = shared_block::create(static_cast<std::size_t>(size));
  } catch (const error& e) {
    return make_caf_error(e.code(), e.what());
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (name.empty()) {
    do
      name = fresh_name();
    while (named_.count(name) != 0);
  } else if (named_.count(name) != 0) {
    return make_caf_error(errc::name_taken,
                          "a shared memory block named \"" + name + "\" exists on this host");
  }
  auto& e = named_[name];
  e.block = block;
  e.serial = ++last_serial_;
  e.holds[who] = 1;
  return granted{std::move(block), std::move(name), e.serial};
}

caf::expected<block_table::granted> block_table::attach(const std::string& name,
                                                        std::uint64_t serial, block_holder who) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = named_.find(name);
  if (i == named_.end() || (serial != 0 && i->second.serial != serial))
    return no_block(name);
  ++i->second.holds[who];
  return granted{i->second.block, name, i->second.serial};
}

void block_table::release(const std::string& name, std::uint64_t serial, block_holder who) {
  std::shared_ptr<shared_block> dropped; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = named_.find(name);
  if (i == named_.end() || i->second.serial != serial)
    return;
  auto& holds = i->second.holds;
  auto h = holds.find(who);
  if (h == holds.end())
    return;
  if (--h->second == 0)
    holds.erase(h);
  if (holds.empty()) {
    dropped = std::move(i->second.block);
    named_.erase(i);
  }
}

caf::expected<void> block_table::unlink(const std::string& name, std::uint64_t serial) {
  std::shared_ptr<shared_block> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = named_.find(name);
  if (i == named_.end() || (serial != 0 && i->second.serial != serial))
    return no_block(name);
  dropped = std::move(i->second.block);
  named_.erase(i);
  return caf::unit;
}

void block_table::drop_holder(block_holder who) {
  std::vector<std::shared_ptr<shared_block>> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = named_.begin(); i != named_.end();) {
    i->second.holds.erase(who);
    if (i->second.holds.empty()) {
      dropped.push_back(std::move(i->second.block));
      i = named_.erase(i);
    } else {
      ++i;
    }
  }
}

std::size_t block_table::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return named_.size();
}

} // namespace proctor::internal
