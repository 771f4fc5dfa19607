#pragma once

#include <cstdint>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/wire/segments.hpp"
#include "proctor/detail/queue_handle.hpp"

namespace proctor::internal {

/// An item as the queue keeps it: the bytes of one serialized value, and
/// the shared memory its proctor::bytes refer to. The queue never decodes
/// them, so it needs no knowledge of the item type.
using queue_item = encoded_item;

/// The size of `item` in a frame where its shared memory travels inline:
/// what batches and the frame limit count.
std::size_t wire_size(const queue_item& item);

/// An encoded batch of records (items, deliveries, ids).
using item_bytes = std::vector<char>;

// The queue actor's messages. A request that fails is answered with a
// caf::error in proctor's category (make_caf_error): queue_full, queue_empty,
// closed, timeout, invalid_state; a success with the value shown, or nothing.
// A batch of items travels as two elements: encode_items() or
// encode_batch()'s records, and a segment_list of the shared memory they
// refer to (each record says how many of the list's next segments it owns).
using put_atom = caf::atom_constant<caf::atom("q_put")>; // int64 timeout_ms, data, segment_list -> ()
// Pipelined puts: (q_putbt, records, segment_list) from a producer's feeder; the queue tells the sender with (q_putdn,
// caf::error, uint32 count) that that many of its puts were admitted (no
// error) or refused with that error, once per batch, when the batch's last
// item is in.
using put_batch_atom = caf::atom_constant<caf::atom("q_putbt")>;
using put_done_atom = caf::atom_constant<caf::atom("q_putdn")>;
// int64 timeout_ms, uint32 max -> records, segment_list
using get_atom = caf::atom_constant<caf::atom("q_get")>;
// uint64 delivery id, or encode_ids() of several (a consumer's acks batched)
using ack_atom = caf::atom_constant<caf::atom("q_ack")>;
// records, segment_list: deliveries a consumer gives back unreturned
using return_atom = caf::atom_constant<caf::atom("q_return")>;
using size_atom = caf::atom_constant<caf::atom("q_size")>;      // -> uint64 size, uint64 max, bool closed
// Shuts the queue down for everyone: bool immediate (drop what it holds) -> ()
using close_atom = caf::atom_constant<caf::atom("q_close")>;
using task_done_atom = caf::atom_constant<caf::atom("q_tdone")>; // -> ()
using join_atom = caf::atom_constant<caf::atom("q_join")>;      // int64 timeout_ms -> ()
using expire_atom = caf::atom_constant<caf::atom("q_expire")>;  // uint64 waiter id (internal)

/// Timeouts in queue messages: forever, or don't wait at all.
constexpr std::int64_t wait_forever = -1;
constexpr std::int64_t dont_wait = 0;

/// A delivered item and its delivery id.
struct delivery {
  std::uint64_t id = 0;
  queue_item item;
};

/// Records and the shared memory they refer to: one batch on the wire.
struct encoded_batch {
  item_bytes records;
  segment_list segments;
};

/// A batch of deliveries. Decoding fails on a record that claims segments
/// `segments` does not have, or if some are left over.
encoded_batch encode_batch(std::vector<delivery>& batch);

/// A delivery whose item stays where it is (the queue's ledger keeps it).
struct delivery_view {
  std::uint64_t id = 0;
  const queue_item* item = nullptr;
};

encoded_batch encode_batch(std::vector<delivery_view>& batch);
bool decode_batch(const item_bytes& records, const segment_refs& segments,
                  std::vector<delivery>& out);

/// A batch of items to put.
encoded_batch encode_items(std::vector<queue_item>& items);
bool decode_items(const item_bytes& records, const segment_refs& segments,
                  std::vector<queue_item>& out);

/// Plain blobs, a count first (a dict's entries travel so).
item_bytes encode_blobs(std::vector<item_bytes>& blobs);
bool decode_blobs(const item_bytes& bytes, std::vector<item_bytes>& out);

/// Delivery ids, for a batch of acks.
item_bytes encode_ids(std::vector<std::uint64_t>& ids);
bool decode_ids(const item_bytes& bytes, std::vector<std::uint64_t>& out);

/// Whether the queue keeps a ledger of what it delivers to `consumer`: for
/// every consumer of a bounded queue (whose room counts fetched-ahead items)
/// and for consumers in other processes (which may die on their own). A
/// consumer in the queue's own process of an unbounded queue needs neither,
/// so it acks nothing.
bool tracks_deliveries(std::size_t maxsize, const caf::node_id& queue_node,
                       const caf::node_id& consumer_node);

/// Spawns a queue in this process. `maxsize` 0 is unbounded. A delivery
/// batch holds at most `max_batch_bytes` of items (or one item), so that it
/// fits a frame.
caf::actor spawn_queue(caf::actor_system& sys, std::size_t maxsize,
                       std::size_t max_batch_bytes = 256 * 1024);

} // namespace proctor::internal
