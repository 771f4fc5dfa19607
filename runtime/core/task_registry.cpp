// The names a binary registers: tasks, actors, message types.
#include "proctor/actor.hpp"
#include "proctor/message_type.hpp"
#include "proctor/task.hpp"

#include <algorithm>

namespace proctor::internal {

namespace {

// Filled by static initializers before main; read afterwards.
std::vector<task_entry>& tasks() {
  static std::vector<task_entry> instance;
  return instance;
}

} // namespace

void register_task(std::string name, const void* address, task_runner run,
                   task_caller call) {
  tasks().push_back(task_entry{std::move(name), address, run, call});
}

const task_entry* find_task(const void* address) noexcept {
  for (auto& entry : tasks())
    if (entry.address == address)
      return &entry;
  return nullptr;
}

const task_entry& registered_task(const void* address) {
  if (auto* entry = find_task(address))
    return *entry;
  throw error(errc::unregistered_task,
              "proctor: the function is not registered; add PROCTOR_TASK(name) "
              "next to its definition");
}

const task_entry* find_task(std::string_view name) noexcept {
  for (auto& entry : tasks())
    if (entry.name == name)
      return &entry;
  return nullptr;
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (auto& entry : tasks())
    names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace proctor::internal

namespace proctor::internal {

namespace {

std::vector<actor_entry>& actors() {
  static std::vector<actor_entry> instance;
  return instance;
}

} // namespace

void register_actor(std::string name, const void* address, actor_factory make) {
  actors().push_back(actor_entry{std::move(name), address, make});
}

const actor_entry* find_actor(const void* address) noexcept {
  for (auto& entry : actors())
    if (entry.address == address)
      return &entry;
  return nullptr;
}

const actor_entry* find_actor(const std::string& name) noexcept {
  for (auto& entry : actors())
    if (entry.name == name)
      return &entry;
  return nullptr;
}

std::vector<std::string> actor_names() {
  std::vector<std::string> names;
  for (auto& entry : actors())
    names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace proctor::internal

namespace proctor::internal {

namespace {

std::vector<message_type_entry>& types() {
  static std::vector<message_type_entry> instance;
  return instance;
}

} // namespace

void register_message_type(std::string name, type_adder add) {
  types().push_back(message_type_entry{std::move(name), add});
}

const std::vector<message_type_entry>& message_types() {
  return types();
}

} // namespace proctor::internal
