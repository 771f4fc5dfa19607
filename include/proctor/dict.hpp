#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "proctor/task.hpp"
#include "proctor/detail/table_handle.hpp"

namespace proctor {

/// Python's SyncManager.dict(): a map that lives in the process that created
/// it and that every process holding a handle reads and writes. Keys and
/// values are any types CAF can serialize. Each call is one message to the
/// owner and atomic; `update(key, fn)` and `compare_and_set` make atomic
/// read-modify-writes. Entries keep the order their keys were first set in.
/// Keys compare by their serialized bytes (so two keys are one key exactly
/// when they serialize alike; hash maps inside keys or values do not). A
/// handle is a value: copy it, pass it to a process or a task, serve it
/// from a proctor::manager. If the owner dies, every call fails with
/// errc::owner_gone.
template <class K, class V>
class dict : public internal::table_base {
public:
  /// An empty dict owned by this process.
  explicit dict(runtime& rt) : table_base(rt) {
  }

  /// An invalid handle, to be assigned or deserialized into.
  dict() = default;

  std::optional<V> get(const K& key) const {
    auto bytes = get_bytes(internal::encode_value(key));
    if (!bytes)
      return std::nullopt;
    return internal::decode_value<V>(*bytes);
  }

  V get(const K& key, const V& fallback) const {
    auto found = get(key);
    return found ? std::move(*found) : fallback;
  }

  bool contains(const K& key) const {
    return get_bytes(internal::encode_value(key)).has_value();
  }

  void set(const K& key, const V& value) {
    set_bytes(internal::encode_value(key), internal::encode_value(value));
  }

  /// Removes the key; its value, if it was there.
  std::optional<V> pop(const K& key) {
    auto bytes = pop_bytes(internal::encode_value(key));
    if (!bytes)
      return std::nullopt;
    return internal::decode_value<V>(*bytes);
  }

  /// Whether the key was there.
  bool erase(const K& key) {
    return pop_bytes(internal::encode_value(key)).has_value();
  }

  /// Python's setdefault: the key's value, after setting it to `value` if
  /// the key was absent.
  V setdefault(const K& key, const V& value) {
    return internal::decode_value<V>(
      setdefault_bytes(internal::encode_value(key), internal::encode_value(value)));
  }

  /// If the key's value is `expected` (nullopt: the key is absent), makes it
  /// `desired` (nullopt: removes the key) and returns true.
  bool compare_and_set(const K& key, const std::optional<V>& expected,
                       const std::optional<V>& desired) {
    return compare_and_set_bytes(internal::encode_value(key), encoded(expected), encoded(desired));
  }

  /// Atomically replaces the key's value by `fn(current)`, where current is
  /// nullopt for an absent key, and returns the new value. `fn` runs here,
  /// in the caller, maybe more than once if other processes write the key
  /// meanwhile (it retries until its compare-and-set wins).
  template <class F>
  V update(const K& key, F fn) {
    auto k = internal::encode_value(key);
    for (;;) {
      auto current = get_bytes(k);
      std::optional<V> old;
      if (current)
        old = internal::decode_value<V>(*current);
      V next = fn(std::move(old));
      auto bytes = internal::encode_value(next);
      if (compare_and_set_bytes(k, current, bytes))
        return next;
    }
  }

  /// Python's update(): sets every pair, in one atomic step.
  void update(const std::vector<std::pair<K, V>>& pairs) {
    std::vector<internal::table_bytes> flat;
    flat.reserve(pairs.size() * 2);
    for (auto& [key, value] : pairs) {
      flat.push_back(internal::encode_value(key));
      flat.push_back(internal::encode_value(value));
    }
    merge_bytes(std::move(flat));
  }

  void update(const std::map<K, V>& pairs) {
    update(std::vector<std::pair<K, V>>{pairs.begin(), pairs.end()});
  }

  /// Every entry, in the order their keys were first set.
  std::vector<std::pair<K, V>> items() const {
    std::vector<std::pair<K, V>> out;
    for (auto& [key, value] : items_bytes())
      out.emplace_back(internal::decode_value<K>(key), internal::decode_value<V>(value));
    return out;
  }

  std::vector<K> keys() const {
    std::vector<K> out;
    for (auto& [key, value] : items_bytes())
      out.push_back(internal::decode_value<K>(key));
    return out;
  }

  std::vector<V> values() const {
    std::vector<V> out;
    for (auto& [key, value] : items_bytes())
      out.push_back(internal::decode_value<V>(value));
    return out;
  }

  std::size_t size() const {
    return size_impl();
  }

  bool empty() const {
    return size_impl() == 0;
  }

  void clear() {
    clear_impl();
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dict& x) {
    return f(caf::meta::type_name("proctor::dict"), x.handle_);
  }

private:
  static std::optional<internal::table_bytes> encoded(const std::optional<V>& x) {
    if (!x)
      return std::nullopt;
    return internal::encode_value(*x);
  }
};

/// Python's SyncManager.Value (and multiprocessing.Value): one value of any
/// serializable type, owned by the process that created it and shared by
/// every process holding a handle. `update(fn)` is an atomic
/// read-modify-write (Python needs `with v.get_lock(): v.value += 1`).
template <class T>
class value : public internal::table_base {
public:
  value(runtime& rt, const T& initial) : table_base(rt) {
    set(initial);
  }

  explicit value(runtime& rt) : value(rt, T{}) {
  }

  /// An invalid handle, to be assigned or deserialized into.
  value() = default;

  T get() const {
    auto bytes = get_bytes(key());
    if (!bytes)
      throw error(errc::invalid_state, "proctor: a value handle whose value was removed");
    return internal::decode_value<T>(*bytes);
  }

  void set(const T& x) {
    set_bytes(key(), internal::encode_value(x));
  }

  /// If the value is `expected`, makes it `desired` and returns true.
  bool compare_and_set(const T& expected, const T& desired) {
    return compare_and_set_bytes(key(), internal::encode_value(expected),
                                 internal::encode_value(desired));
  }

  /// Atomically replaces the value by `fn(current)` and returns the new
  /// value; `fn` runs here and retries as dict::update's does.
  template <class F>
  T update(F fn) {
    for (;;) {
      auto current = get_bytes(key());
      if (!current)
        throw error(errc::invalid_state, "proctor: a value handle whose value was removed");
      T next = fn(internal::decode_value<T>(*current));
      if (compare_and_set_bytes(key(), current, internal::encode_value(next)))
        return next;
    }
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, value& x) {
    return f(caf::meta::type_name("proctor::value"), x.handle_);
  }

private:
  static const internal::table_bytes& key() {
    static const internal::table_bytes empty;
    return empty;
  }
};

} // namespace proctor
