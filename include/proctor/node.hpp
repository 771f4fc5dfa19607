#pragma once

#include <cstdint>
#include <string>

namespace proctor {

/// What a master knows of a node's health, from its heartbeats.
enum class node_state : std::uint8_t {
  alive,   ///< heard from within two heartbeat intervals
  suspect, ///< silent for longer, not yet for the dead-after time
  dead,    ///< its link is gone: killed, frozen past dead-after, partitioned
};

/// A node: the same binary started elsewhere with --proctor.join=ENDPOINT,
/// offering its cores to this master.
struct node_info {
  std::string id;   ///< "host:pid", stable across the node's rejoins
  std::string host; ///< the node's host name
  unsigned cores = 0;
  node_state state = node_state::alive;
  /// Counts the node's joins: a node that rejoins after it was declared
  /// dead is a new incarnation, and nothing of the old one is accepted.
  std::uint64_t incarnation = 0;
  std::string reason; ///< why it is dead
};

const char* to_string(node_state x) noexcept;

} // namespace proctor
