// The names a binary registers: tasks, actors, message types. Each list is
// filled by static initializers before main and only read afterwards.
#include "proctor/actor.hpp"
#include "proctor/message_type.hpp"
#include "proctor/task.hpp"

#include <algorithm>

#include "actors/errors.hpp"
#include "runtime/core/runtime_impl.hpp"

namespace proctor::internal {

namespace {

template <class Entry>
std::vector<Entry>& entries() {
  static std::vector<Entry> instance;
  return instance;
}

/// The entry whose `field` equals `key`, or null.
template <class Entry, class Key, class Field>
const Entry* find_entry(const Key& key, Field Entry::*field) noexcept {
  for (auto& entry : entries<Entry>())
    if (entry.*field == key)
      return &entry;
  return nullptr;
}

/// Every entry's name, sorted (the handshake's fingerprint hashes them).
template <class Entry>
std::vector<std::string> sorted_names() {
  std::vector<std::string> names;
  for (auto& entry : entries<Entry>())
    names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

void register_task(std::string name, const void* address, task_runner run,
                   task_caller call, result_inliner inline_result) {
  entries<task_entry>().push_back(
    task_entry{std::move(name), address, run, call, inline_result});
}

const task_entry* find_task(const void* address) noexcept {
  return find_entry(address, &task_entry::address);
}

const task_entry& registered_task(const void* address) {
  if (auto* entry = find_task(address))
    return *entry;
  throw error(errc::unregistered_task,
              "proctor: the function is not registered; add PROCTOR_TASK(name) "
              "next to its definition");
}

const task_entry* find_task(std::string_view name) noexcept {
  return find_entry(name, &task_entry::name);
}

std::vector<std::string> task_names() {
  return sorted_names<task_entry>();
}

void register_actor(std::string name, const void* address, actor_factory make) {
  entries<actor_entry>().push_back(actor_entry{std::move(name), address, make});
}

const actor_entry* find_actor(const void* address) noexcept {
  return find_entry(address, &actor_entry::address);
}

const actor_entry& registered_actor(const void* address) {
  if (auto* entry = find_actor(address))
    return *entry;
  throw error(errc::unregistered_actor,
              "proctor: the actor function is not registered; add "
              "PROCTOR_ACTOR(name) next to its definition");
}

const actor_entry* find_actor(const std::string& name) noexcept {
  return find_entry(name, &actor_entry::name);
}

std::vector<std::string> actor_names() {
  return sorted_names<actor_entry>();
}

void register_message_type(std::string name, type_adder add) {
  entries<message_type_entry>().push_back(message_type_entry{std::move(name), add});
}

const std::vector<message_type_entry>& message_types() {
  return entries<message_type_entry>();
}

} // namespace proctor::internal

namespace proctor::internal {

caf::error describe_exception(caf::scheduled_actor*, std::exception_ptr& x) {
  try {
    std::rethrow_exception(x);
  } catch (const std::exception& e) {
    return make_caf_error(errc::remote_error, demangled(typeid(e)) + ": " + e.what());
  } catch (...) {
    return make_caf_error(errc::remote_error, "an exception of unknown type");
  }
}

} // namespace proctor::internal
