// The actor behind dict and value: a map of byte strings in insertion order,
// whose every operation, compare-and-set included, is one message and so
// atomic.
#include "actors/table/table_actor.hpp"

#include <cstdint>
#include <list>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/errors.hpp"
#include "actors/queue/queue_actor.hpp"

namespace proctor::internal {

namespace {

using bytes = std::vector<char>;

struct bytes_hash {
  std::size_t operator()(const bytes& x) const noexcept {
    return std::hash<std::string_view>{}(std::string_view{x.data(), x.size()});
  }
};

struct table_state {
  table_state() = default;

  using entry_list = std::list<std::pair<bytes, bytes>>;
  entry_list entries; ///< in the order keys were first set
  std::unordered_map<bytes, entry_list::iterator, bytes_hash> index;

  const bytes* find(const bytes& key) const {
    auto i = index.find(key);
    return i == index.end() ? nullptr : &i->second->second;
  }

  void set(const bytes& key, bytes value) {
    if (auto i = index.find(key); i != index.end()) {
      i->second->second = std::move(value);
      return;
    }
    entries.emplace_back(key, std::move(value));
    index.emplace(key, std::prev(entries.end()));
  }

  bool erase(const bytes& key, bytes* out) {
    auto i = index.find(key);
    if (i == index.end())
      return false;
    if (out != nullptr)
      *out = std::move(i->second->second);
    entries.erase(i->second);
    index.erase(i);
    return true;
  }
};

caf::error malformed(const char* what) {
  return make_caf_error(errc::malformed_payload, std::string{"proctor: "} + what
                                                   + " that does not decode");
}

// The unused argument: CAF 0.17 spawns a function without arguments through
// a null shared_ptr (UBSan rejects it).
caf::behavior table(caf::stateful_actor<table_state>* self, int) {
  return {
    [self](table_get_atom, const bytes& key) {
      auto* value = self->state.find(key);
      return std::make_tuple(value != nullptr, value != nullptr ? *value : bytes{});
    },
    [self](table_set_atom, const bytes& key, bytes& value) {
      self->state.set(key, std::move(value));
    },
    [self](table_pop_atom, const bytes& key) {
      bytes value;
      bool found = self->state.erase(key, &value);
      return std::make_tuple(found, std::move(value));
    },
    [self](table_cas_atom, const bytes& key, bool expect_present, const bytes& expected,
           bool store, bytes& desired) {
      auto* value = self->state.find(key);
      bool matches = expect_present ? value != nullptr && *value == expected : value == nullptr;
      if (!matches)
        return false;
      if (store)
        self->state.set(key, std::move(desired));
      else
        self->state.erase(key, nullptr);
      return true;
    },
    [self](table_default_atom, const bytes& key, bytes& value) -> bytes {
      if (auto* existing = self->state.find(key))
        return *existing;
      self->state.set(key, value);
      return value;
    },
    [self](table_items_atom) {
      std::vector<bytes> flat;
      flat.reserve(self->state.entries.size() * 2);
      for (auto& [key, value] : self->state.entries) {
        flat.push_back(key);
        flat.push_back(value);
      }
      return encode_blobs(flat);
    },
    [self](table_merge_atom, const bytes& encoded) -> caf::result<void> {
      std::vector<bytes> flat;
      if (!decode_blobs(encoded, flat) || flat.size() % 2 != 0)
        return malformed("a merge");
      for (std::size_t i = 0; i < flat.size(); i += 2)
        self->state.set(flat[i], std::move(flat[i + 1]));
      return caf::unit;
    },
    [self](table_size_atom) {
      return static_cast<std::uint64_t>(self->state.entries.size());
    },
    [self](table_clear_atom) {
      self->state.entries.clear();
      self->state.index.clear();
    },
  };
}

} // namespace

caf::actor spawn_table(caf::actor_system& sys) {
  return sys.spawn(table, 0);
}

} // namespace proctor::internal
