// How the queue's batches travel: a count, then items, or (delivery id,
// item) pairs, as records (actors/wire/records.hpp).
#include "actors/queue/queue_actor.hpp"

#include <caf/node_id.hpp>

#include "actors/wire/records.hpp"

namespace proctor::internal {

item_bytes encode_batch(std::vector<delivery>& batch) {
  item_bytes out;
  record_writer w{out};
  w.fields(static_cast<std::uint32_t>(batch.size()));
  for (auto& d : batch)
    w.fields(d.id).blob(d.item);
  return out;
}

bool decode_batch(const item_bytes& bytes, std::vector<delivery>& out) {
  record_reader in{bytes};
  std::uint32_t count = 0;
  if (!in.count(count))
    return false;
  out.resize(count);
  for (auto& d : out)
    if (!in.fields(d.id) || !in.blob(d.item))
      return false;
  return in.finished();
}

item_bytes encode_items(std::vector<item_bytes>& items) {
  item_bytes out;
  record_writer w{out};
  w.fields(static_cast<std::uint32_t>(items.size()));
  for (auto& item : items)
    w.blob(item);
  return out;
}

bool decode_items(const item_bytes& bytes, std::vector<item_bytes>& out) {
  record_reader in{bytes};
  std::uint32_t count = 0;
  if (!in.count(count))
    return false;
  out.resize(count);
  for (auto& item : out)
    if (!in.blob(item))
      return false;
  return in.finished();
}

bool tracks_deliveries(std::size_t maxsize, const caf::node_id& queue_node,
                       const caf::node_id& consumer_node) {
  return maxsize != 0 || queue_node != consumer_node;
}

} // namespace proctor::internal
