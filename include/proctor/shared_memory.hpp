#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "proctor/errc.hpp"
#include "proctor/sync.hpp"

namespace proctor {

class runtime;
class shared_memory;

namespace internal {

struct block_state;

caf::error save_shared_memory(caf::serializer& sink, const shared_memory& x);
caf::error load_shared_memory(caf::deserializer& source, shared_memory& x);

} // namespace internal

/// Python's multiprocessing.shared_memory.SharedMemory: a block of memory
/// every process of this host can map, by its name or through a handle
/// passed to it (a task argument, a queue item, a message).
///
/// The host's root process (the master, or a node for the processes it
/// started) keeps the names; a block is a memfd it hands out with
/// SCM_RIGHTS, never a file in /dev/shm. So nothing outlives its holders:
/// a block lives while some process holds it (a handle that created or
/// attached it and was not closed) and it has a name; when the last holder
/// closes, ends or is killed, its name goes, and its memory goes with the
/// last mapping. Python's blocks stay in /dev/shm until unlink(), and leak
/// when their processes crash.
///
/// Copies of a handle share one hold and one mapping. A handle received
/// from another process attaches when first used (buf()), which fails with
/// no_such_block if every holder let go meanwhile, or if the block is on
/// another host: shared memory is for the processes of one host.
class shared_memory {
public:
  /// An invalid handle, to be assigned or deserialized into.
  shared_memory() = default;

  /// A new block of `size` zero bytes with a fresh name ("psm_" and 16
  /// hex digits). Errors: bad_argument (0 bytes, or more than
  /// --proctor.max-shared-size), resource_exhausted.
  static shared_memory create(runtime& rt, std::size_t size);

  /// A new block named `name` (at most 254 bytes): name_taken if this host
  /// has one of that name.
  static shared_memory create(runtime& rt, const std::string& name, std::size_t size);

  /// The block named `name` on this host: no_such_block if there is none.
  static shared_memory attach(runtime& rt, const std::string& name);

  explicit operator bool() const noexcept {
    return state_ != nullptr;
  }

  const std::string& name() const;

  std::size_t size() const;

  /// The memory, read and written in place by every holder: mapped on
  /// first use if this handle came from another process. Writes are not
  /// synchronized: guard them (a lock, an event, a queue message), or use
  /// std::atomic_ref. Valid until close().
  std::span<std::byte> buf() const;

  /// Lets go of this handle's hold (for every copy of it) and unmaps the
  /// memory. Calling it again does nothing.
  void close();

  /// Removes the name: nothing attaches to the block any more; the memory
  /// stays mapped where it is until those holders close. Errors:
  /// no_such_block if it was removed already.
  void unlink();

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, shared_memory& x) {
    if constexpr (std::is_base_of_v<caf::serializer, Inspector>)
      return internal::save_shared_memory(f, x);
    else if constexpr (std::is_base_of_v<caf::deserializer, Inspector>)
      return internal::load_shared_memory(f, x);
    else
      return f(caf::meta::type_name("proctor::shared_memory"));
  }

private:
  friend caf::error internal::load_shared_memory(caf::deserializer&, shared_memory&);
  friend caf::error internal::save_shared_memory(caf::serializer&, const shared_memory&);

  explicit shared_memory(std::shared_ptr<internal::block_state> state) noexcept
    : state_(std::move(state)) {
  }

  const internal::block_state& state() const;

  std::shared_ptr<internal::block_state> state_;
};

namespace internal {

/// What shared_value and shared_array share: their block and optional lock.
class shared_cells {
protected:
  shared_cells() = default;
  shared_cells(runtime& rt, std::size_t bytes, bool lock);

  /// Holds the lock, if any, while alive.
  class guard {
  public:
    explicit guard(const shared_cells& cells);
    ~guard();
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

  private:
    const shared_cells& cells_;
  };

  /// The memory, checked to be `bytes` long (a handle decoded as another
  /// type would not be).
  std::byte* cells(std::size_t bytes) const;

  process_rlock& lock_of(const char* what);

  /// Encodes the memory, `extra` fields and the lock, if there is one.
  template <class Inspector, class... Extra>
  typename Inspector::result_type inspect_cells(Inspector& f, const char* type,
                                                Extra&... extra) {
    if constexpr (std::is_base_of_v<caf::serializer, Inspector>
                  || std::is_base_of_v<caf::deserializer, Inspector>) {
      if (auto err = f(memory_, extra..., locked_))
        return err;
      if (!locked_)
        return {};
      return f(lock_);
    } else {
      return f(caf::meta::type_name(type), memory_, extra..., locked_);
    }
  }

  shared_memory memory_;
  bool locked_ = false;
  mutable process_rlock lock_;
};

} // namespace internal

/// Python's multiprocessing.Value: one `T` in shared memory of this host,
/// with the re-entrant lock Python gives it unless `lock` is false.
/// value() and set() take that lock; a read-modify-write needs it held
/// around both (`std::lock_guard g{v.get_lock()};`), as in Python. Copies
/// and handles passed to other processes share the value. Not the
/// Manager's proxied value<T>, which lives in one process and crosses
/// hosts.
template <class T>
class shared_value : private internal::shared_cells {
  static_assert(std::is_trivially_copyable_v<T>,
                "shared_value<T> holds T as raw bytes: T must be trivially copyable");

public:
  /// An invalid handle, to be assigned or deserialized into.
  shared_value() = default;

  explicit shared_value(runtime& rt, const T& initial = T{}, bool lock = true)
    : shared_cells(rt, sizeof(T), lock) {
    std::memcpy(cells(sizeof(T)), &initial, sizeof(T));
  }

  T value() const {
    guard g{*this};
    T out;
    std::memcpy(&out, cells(sizeof(T)), sizeof(T));
    return out;
  }

  void set(const T& x) {
    guard g{*this};
    std::memcpy(cells(sizeof(T)), &x, sizeof(T));
  }

  /// The value itself, without the lock (Python's get_obj()).
  T& get_obj() const {
    return *std::launder(reinterpret_cast<T*>(cells(sizeof(T))));
  }

  /// The lock; invalid_state if it was made without one.
  process_rlock& get_lock() {
    return lock_of("shared_value");
  }

  const shared_memory& memory() const noexcept {
    return memory_;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, shared_value& x) {
    return x.inspect_cells(f, "proctor::shared_value");
  }
};

/// Python's multiprocessing.Array: `size` values of `T` in shared memory
/// of this host, with the re-entrant lock Python gives it unless `lock` is
/// false. load(), store(), snapshot() and assign() take the lock; get_obj()
/// is the memory itself.
template <class T>
class shared_array : private internal::shared_cells {
  static_assert(std::is_trivially_copyable_v<T>,
                "shared_array<T> holds T as raw bytes: T must be trivially copyable");

public:
  /// An invalid handle, to be assigned or deserialized into.
  shared_array() = default;

  /// `size` zero-initialized values.
  shared_array(runtime& rt, std::size_t size, bool lock = true)
    : shared_cells(rt, bytes_for(size), lock), size_(size) {
  }

  /// A copy of `initial`.
  shared_array(runtime& rt, std::span<const T> initial, bool lock = true)
    : shared_array(rt, initial.size(), lock) {
    if (!initial.empty())
      std::memcpy(cells(bytes_for(size_)), initial.data(), initial.size_bytes());
  }

  std::size_t size() const noexcept {
    return size_;
  }

  /// Element `i`; bad_argument past the end.
  T load(std::size_t i) const {
    check(i);
    guard g{*this};
    T out;
    std::memcpy(&out, cells(bytes_for(size_)) + i * sizeof(T), sizeof(T));
    return out;
  }

  void store(std::size_t i, const T& x) {
    check(i);
    guard g{*this};
    std::memcpy(cells(bytes_for(size_)) + i * sizeof(T), &x, sizeof(T));
  }

  /// Every element, read under the lock (Python's `a[:]`).
  std::vector<T> snapshot() const {
    guard g{*this};
    std::vector<T> out(size_);
    if (size_ > 0)
      std::memcpy(out.data(), cells(bytes_for(size_)), size_ * sizeof(T));
    return out;
  }

  /// Writes every element under the lock (`a[:] = ...`); bad_argument if
  /// `xs` has another size.
  void assign(std::span<const T> xs) {
    if (xs.size() != size_)
      throw error(errc::bad_argument, "proctor: shared_array::assign of "
                                        + std::to_string(xs.size()) + " values to "
                                        + std::to_string(size_));
    guard g{*this};
    if (size_ > 0)
      std::memcpy(cells(bytes_for(size_)), xs.data(), xs.size_bytes());
  }

  /// The values themselves, without the lock (Python's get_obj()).
  std::span<T> get_obj() const {
    return {std::launder(reinterpret_cast<T*>(cells(bytes_for(size_)))), size_};
  }

  /// The lock; invalid_state if it was made without one.
  process_rlock& get_lock() {
    return lock_of("shared_array");
  }

  const shared_memory& memory() const noexcept {
    return memory_;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, shared_array& x) {
    return x.inspect_cells(f, "proctor::shared_array", x.size_);
  }

private:
  /// An empty array still has a block (of one byte): a block has a size.
  static std::size_t bytes_for(std::size_t size) {
    if (size > SIZE_MAX / sizeof(T))
      throw error(errc::bad_argument, "proctor: a shared_array too large to address");
    return size == 0 ? 1 : size * sizeof(T);
  }

  void check(std::size_t i) const {
    if (i >= size_)
      throw error(errc::bad_argument, "proctor: shared_array index " + std::to_string(i)
                                        + " of " + std::to_string(size_));
  }

  std::uint64_t size_ = 0;
};

} // namespace proctor
