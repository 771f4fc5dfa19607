#pragma once

#include <cstdint>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace proctor::internal {

/// An item as the queue keeps it: the bytes of one serialized value. The
/// queue never decodes them, so it needs no knowledge of the item type.
using item_bytes = std::vector<char>;

// The queue actor's messages. Requests get a uint8 errc (0 = ok) first.
using put_atom = caf::atom_constant<caf::atom("q_put")>;        // int64 timeout_ms, item -> code
// Pipelined puts: (q_putas, item, bool ack) from a producer; the queue tells
// it with (q_putdn, code, uint32 count) how many of its puts were admitted
// since the last such message, when a put asks for it (`ack`) and when a
// (q_pflush) finds all of its earlier puts admitted.
using put_async_atom = caf::atom_constant<caf::atom("q_putas")>;
using put_done_atom = caf::atom_constant<caf::atom("q_putdn")>;
using put_flush_atom = caf::atom_constant<caf::atom("q_pflush")>;
using get_atom = caf::atom_constant<caf::atom("q_get")>;        // int64 timeout_ms, uint32 max -> code, batch
using ack_atom = caf::atom_constant<caf::atom("q_ack")>;        // uint64 delivery id
using return_atom = caf::atom_constant<caf::atom("q_return")>;  // batch of unreturned items
using size_atom = caf::atom_constant<caf::atom("q_size")>;      // -> uint64 size, uint64 max, bool closed
using close_atom = caf::atom_constant<caf::atom("q_close")>;    // -> code
using task_done_atom = caf::atom_constant<caf::atom("q_tdone")>; // -> code
using join_atom = caf::atom_constant<caf::atom("q_join")>;      // int64 timeout_ms -> code
using expire_atom = caf::atom_constant<caf::atom("q_expire")>;  // uint64 waiter id (internal)

/// Timeouts in queue messages: forever, or don't wait at all.
constexpr std::int64_t wait_forever = -1;
constexpr std::int64_t dont_wait = 0;

/// A batch of delivered items: (delivery id, item) pairs, encoded as bytes.
struct delivery {
  std::uint64_t id = 0;
  item_bytes item;
};

item_bytes encode_batch(std::vector<delivery>& batch);
bool decode_batch(const item_bytes& bytes, std::vector<delivery>& out);

/// Spawns a queue in this process. `maxsize` 0 is unbounded.
caf::actor spawn_queue(caf::actor_system& sys, std::size_t maxsize);

} // namespace proctor::internal
