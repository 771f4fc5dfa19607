// A process's side of a dict or value: blocking requests to its table actor,
// one session per thread (as for locks), so that threads do not queue
// behind each other's round trips.
#include "proctor/dict.hpp"

#include "actors/queue/queue_actor.hpp"
#include "actors/table/table_actor.hpp"
#include "proctor/runtime.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/core/actor_client.hpp"

namespace proctor::internal {

inline constexpr char table_name[] = "dict or value";

class table_client : public per_thread<named_session<table_name>> {
public:
  using per_thread::per_thread;
};

namespace {

/// A present-or-absent state as the table's messages carry it.
std::pair<bool, const table_bytes*> state_of(const std::optional<table_bytes>& x) {
  static const table_bytes none;
  return {x.has_value(), x ? &*x : &none};
}

} // namespace

table_base::table_base(runtime& rt) : handle_(spawn_table(rt.system())) {
  impl_of(rt).own(handle_);
}

table_client& table_base::client() const {
  if (!handle_)
    throw error(errc::invalid_state, "proctor: an invalid dict or value handle");
  return lazily_made(client_, handle_);
}

std::optional<table_bytes> table_base::get_bytes(const table_bytes& key) const {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  auto [found, value] = c.ask2<bool, table_bytes>(table_get_atom::value, key);
  if (!found)
    return std::nullopt;
  return std::move(value);
}

void table_base::set_bytes(const table_bytes& key, const table_bytes& value) {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(table_set_atom::value, key, value);
}

std::optional<table_bytes> table_base::pop_bytes(const table_bytes& key) {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  auto [found, value] = c.ask2<bool, table_bytes>(table_pop_atom::value, key);
  if (!found)
    return std::nullopt;
  return std::move(value);
}

bool table_base::compare_and_set_bytes(const table_bytes& key,
                                       const std::optional<table_bytes>& expected,
                                       const std::optional<table_bytes>& desired) {
  auto [expect_present, expected_bytes] = state_of(expected);
  auto [store, desired_bytes] = state_of(desired);
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<bool>(table_cas_atom::value, key, expect_present, *expected_bytes, store,
                     *desired_bytes);
}

table_bytes table_base::setdefault_bytes(const table_bytes& key, const table_bytes& value) {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<table_bytes>(table_default_atom::value, key, value);
}

std::vector<std::pair<table_bytes, table_bytes>> table_base::items_bytes() const {
  table_bytes encoded;
  {
    auto& c = client().mine();
    std::lock_guard<std::mutex> guard{c.mtx};
    encoded = c.ask<table_bytes>(table_items_atom::value);
  }
  std::vector<table_bytes> flat;
  if (!decode_blobs(encoded, flat) || flat.size() % 2 != 0)
    throw error(errc::malformed_payload, "proctor: a dict's items do not decode");
  std::vector<std::pair<table_bytes, table_bytes>> out;
  out.reserve(flat.size() / 2);
  for (std::size_t i = 0; i < flat.size(); i += 2)
    out.emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
  return out;
}

void table_base::merge_bytes(std::vector<table_bytes> flat) {
  auto encoded = encode_blobs(flat);
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(table_merge_atom::value, encoded);
}

std::size_t table_base::size_impl() const {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  return c.ask<std::uint64_t>(table_size_atom::value);
}

void table_base::clear_impl() {
  auto& c = client().mine();
  std::lock_guard<std::mutex> guard{c.mtx};
  c.ask_done(table_clear_atom::value);
}

} // namespace proctor::internal
