#pragma once

// The internals behind dict.hpp that its templates need; not API.

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

namespace proctor {

class runtime;

namespace internal {

class table_client;

using table_bytes = std::vector<char>;

/// What dict and value share: the handle of their table actor (a value that
/// crosses processes) and this process's sessions with it (not serialized).
class table_base {
public:
  friend bool operator==(const table_base& x, const table_base& y) noexcept {
    return x.handle_ == y.handle_;
  }

protected:
  table_base() = default;
  explicit table_base(runtime& rt);

  std::optional<table_bytes> get_bytes(const table_bytes& key) const;
  void set_bytes(const table_bytes& key, const table_bytes& value);
  std::optional<table_bytes> pop_bytes(const table_bytes& key);
  bool compare_and_set_bytes(const table_bytes& key, const std::optional<table_bytes>& expected,
                             const std::optional<table_bytes>& desired);
  table_bytes setdefault_bytes(const table_bytes& key, const table_bytes& value);
  /// Every entry, in order.
  std::vector<std::pair<table_bytes, table_bytes>> items_bytes() const;
  void merge_bytes(std::vector<table_bytes> flat);
  std::size_t size_impl() const;
  void clear_impl();

  caf::actor handle_;

private:
  table_client& client() const;

  mutable std::shared_ptr<table_client> client_;
};

} // namespace internal

} // namespace proctor
