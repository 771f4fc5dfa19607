// proctor::shared_memory and the cells of shared_value and shared_array:
// a handle's hold on a block of this host (runtime/shared/block_service).
// Threads: any; a handle's state is guarded by its own mutex, held across
// the attach round trip so that copies used at once attach once.
#include "proctor/shared_memory.hpp"

#include "proctor/message_type.hpp"
#include "proctor/runtime.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/shared_block.hpp"

PROCTOR_MESSAGE_TYPE(proctor::shared_memory);

namespace proctor::internal {

/// One hold on a block, shared by the copies of a handle. A handle decoded
/// from a message starts without a hold and attaches on first use. `mtx`
/// guards every field but the name and serial, which never change.
struct block_state {
  std::mutex mtx;
  std::string name;
  std::uint64_t serial = 0;
  std::uint64_t size = 0;
  std::string home;
  std::shared_ptr<shared_block> block; ///< null until attached, and after close
  bool closed = false;
  bool unlinked = false;
  /// The runtime the hold was taken through.
  std::shared_ptr<block_release_gate> gate;

  block_state() = default;

  block_state(held_block held, std::shared_ptr<block_release_gate> through)
    : name(std::move(held.name)), serial(held.serial), size(held.block->span().size()),
      home(std::move(held.home)), block(std::move(held.block)), gate(std::move(through)) {
  }

  ~block_state() {
    let_go();
  }

  /// Gives up the hold, if any. With mtx held, or from the destructor.
  void let_go() noexcept {
    if (!block)
      return;
    block.reset();
    gate->release(name, serial);
  }
};

caf::error save_shared_memory(caf::serializer& sink, const shared_memory& x) {
  std::string name;
  std::uint64_t serial = 0;
  std::uint64_t size = 0;
  std::string home;
  if (x.state_) {
    std::lock_guard<std::mutex> guard{x.state_->mtx};
    name = x.state_->name;
    serial = x.state_->serial;
    size = x.state_->size;
    home = x.state_->home;
  }
  return sink(name, serial, size, home);
}

caf::error load_shared_memory(caf::deserializer& source, shared_memory& x) {
  auto state = std::make_shared<block_state>();
  if (auto err = source(state->name, state->serial, state->size, state->home))
    return err;
  if (state->serial == 0)
    x.state_.reset(); // an invalid handle was sent
  else
    x.state_ = std::move(state);
  return {};
}

} // namespace proctor::internal

namespace proctor {

using internal::block_state;
using internal::impl_of;

namespace {

std::shared_ptr<block_state> holding(runtime& rt, internal::held_block held) {
  return std::make_shared<block_state>(std::move(held), impl_of(rt).release_gate());
}

} // namespace

shared_memory shared_memory::create(runtime& rt, std::size_t size) {
  return shared_memory{holding(rt, impl_of(rt).create_block({}, size))};
}

shared_memory shared_memory::create(runtime& rt, const std::string& name, std::size_t size) {
  if (name.empty())
    throw error(errc::bad_argument, "proctor: a shared memory block's name must not be empty");
  return shared_memory{holding(rt, impl_of(rt).create_block(name, size))};
}

shared_memory shared_memory::attach(runtime& rt, const std::string& name) {
  return shared_memory{holding(rt, impl_of(rt).attach_block(name, 0, {}))};
}

const internal::block_state& shared_memory::state() const {
  if (!state_)
    throw error(errc::invalid_state, "proctor: an invalid shared_memory handle");
  return *state_;
}

const std::string& shared_memory::name() const {
  return state().name;
}

std::size_t shared_memory::size() const {
  state();
  auto& s = *state_;
  std::lock_guard<std::mutex> guard{s.mtx};
  return static_cast<std::size_t>(s.size);
}

std::span<std::byte> shared_memory::buf() const {
  state();
  auto& s = *state_;
  std::lock_guard<std::mutex> guard{s.mtx};
  if (s.closed)
    throw error(errc::invalid_state, "proctor: shared memory \"" + s.name + "\" was closed");
  if (!s.block) {
    auto& rt = runtime::current();
    auto held = impl_of(rt).attach_block(s.name, s.serial, s.home);
    s.block = std::move(held.block);
    s.size = s.block->span().size();
    s.gate = impl_of(rt).release_gate();
  }
  return s.block->span();
}

void shared_memory::close() {
  if (!state_)
    return;
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->closed = true;
  state_->let_go();
}

void shared_memory::unlink() {
  state();
  auto& s = *state_;
  std::lock_guard<std::mutex> guard{s.mtx};
  try {
    impl_of(runtime::current()).unlink_block(s.name, s.serial);
  } catch (const error& e) {
    // Python's order, close() then unlink(): the close let go of the last
    // hold, which took the name along. Only a second unlink is an error.
    if (e.code() != errc::no_such_block || !s.closed || s.unlinked)
      throw;
  }
  s.unlinked = true;
}

namespace internal {

shared_cells::shared_cells(runtime& rt, std::size_t bytes, bool lock)
  : memory_(shared_memory::create(rt, bytes)), locked_(lock) {
  if (lock)
    lock_ = process_rlock{rt};
}

shared_cells::guard::guard(const shared_cells& cells) : cells_(cells) {
  if (cells_.locked_)
    cells_.lock_.acquire();
}

shared_cells::guard::~guard() {
  if (cells_.locked_)
    cells_.lock_.release();
}

std::byte* shared_cells::cells(std::size_t bytes) const {
  auto memory = memory_.buf();
  if (memory.size() != bytes)
    throw error(errc::type_mismatch, "proctor: shared memory \"" + memory_.name() + "\" holds "
                                       + std::to_string(memory.size()) + " bytes, not the "
                                       + std::to_string(bytes) + " of this type");
  return memory.data();
}

process_rlock& shared_cells::lock_of(const char* what) {
  if (!locked_)
    throw error(errc::invalid_state,
                std::string{"proctor: this "} + what + " was made without a lock");
  return lock_;
}

} // namespace internal

} // namespace proctor
