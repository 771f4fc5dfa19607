#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/actor_control_block.hpp>

#include "actors/remote/link_requests.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

/// The names of one registry: name → actor, each binding dropped when its
/// actor ends. The master's table is the one every process of a cluster
/// sees; workers and nodes ask it over their links.
///
/// Threads: any. `mtx_` guards the map and is never held while an actor's
/// end is watched or reported, because CAF runs the watcher at once, on
/// the caller's thread, for an actor that has already ended.
class name_table : public std::enable_shared_from_this<name_table> {
public:
  /// Binds `name` to `actor`. If the name is bound already, the binding is
  /// replaced only if it is `replacing` (a supervisor's previous
  /// incarnation of a child); else name_taken. Returns ok or the errc.
  errc bind(const std::string& name, const caf::strong_actor_ptr& actor,
            const actor_address& replacing = {});

  /// The actor bound to `name`; null if none.
  caf::strong_actor_ptr find(const std::string& name) const;

  /// Drops the binding of `name`; false if there was none.
  bool unbind(const std::string& name);

  /// Drops the binding of `name` if it is still `actor`'s.
  void unbind_if(const std::string& name, const caf::actor_addr& actor);

  std::size_t size() const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, caf::strong_actor_ptr, std::less<>> bound_;
};

} // namespace proctor::internal
