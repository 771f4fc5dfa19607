#include "actors/registry/name_table.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>

namespace proctor::internal {

errc name_table::bind(const std::string& name, const caf::strong_actor_ptr& actor,
                      const actor_address& replacing) {
  if (name.empty() || !actor)
    return errc::bad_argument;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto [i, added] = bound_.try_emplace(name, actor);
    if (!added) {
      if (i->second == actor)
        return errc::ok;
      if (replacing.id == 0 || i->second->id() != replacing.id
          || i->second->node() != replacing.node)
        return errc::name_taken;
      i->second = actor;
    }
  }
  // Outside the lock: for an actor that has ended already, CAF runs this at
  // once, here.
  std::weak_ptr<name_table> self = weak_from_this();
  caf::actor_cast<caf::abstract_actor*>(actor)->attach_functor(
    [self, name, addr = caf::actor_cast<caf::actor_addr>(actor)] {
      if (auto table = self.lock())
        table->unbind_if(name, addr);
    });
  return errc::ok;
}

caf::strong_actor_ptr name_table::find(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = bound_.find(name);
  return i == bound_.end() ? nullptr : i->second;
}

bool name_table::unbind(const std::string& name) {
  caf::strong_actor_ptr dropped; // released outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = bound_.find(name);
  if (i == bound_.end())
    return false;
  dropped = std::move(i->second);
  bound_.erase(i);
  return true;
}

void name_table::unbind_if(const std::string& name, const caf::actor_addr& actor) {
  caf::strong_actor_ptr dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = bound_.find(name);
      i != bound_.end() && caf::actor_cast<caf::actor_addr>(i->second) == actor) {
    dropped = std::move(i->second);
    bound_.erase(i);
  }
}

std::size_t name_table::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return bound_.size();
}

} // namespace proctor::internal
