// How the queue's batches travel: counted sequences of items, and of
// (delivery id, item) pairs, as CAF binary data.
#include "actors/queue_actor.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/node_id.hpp>

namespace proctor::internal {

item_bytes encode_batch(std::vector<delivery>& batch) {
  item_bytes out;
  caf::binary_serializer sink{nullptr, out};
  auto count = static_cast<std::uint32_t>(batch.size());
  auto err = sink(count);
  for (auto& d : batch)
    if (!err)
      err = sink(d.id, d.item);
  return out;
}

bool decode_batch(const item_bytes& bytes, std::vector<delivery>& out) {
  caf::binary_deserializer source{nullptr, bytes.data(), bytes.size()};
  std::uint32_t count = 0;
  // Each entry takes bytes: a count beyond them is a lie, not an allocation.
  if (source(count) || count > bytes.size())
    return false;
  out.resize(count);
  for (auto& d : out)
    if (source(d.id, d.item))
      return false;
  return source.remaining() == 0;
}

item_bytes encode_items(std::vector<item_bytes>& items) {
  item_bytes out;
  caf::binary_serializer sink{nullptr, out};
  auto count = static_cast<std::uint32_t>(items.size());
  auto err = sink(count);
  for (auto& item : items)
    if (!err)
      err = sink(item);
  return out;
}

bool decode_items(const item_bytes& bytes, std::vector<item_bytes>& out) {
  caf::binary_deserializer source{nullptr, bytes.data(), bytes.size()};
  std::uint32_t count = 0;
  if (source(count) || count > bytes.size())
    return false;
  out.resize(count);
  for (auto& item : out)
    if (source(item))
      return false;
  return source.remaining() == 0;
}

bool tracks_deliveries(std::size_t maxsize, const caf::node_id& queue_node,
                       const caf::node_id& consumer_node) {
  return maxsize != 0 || queue_node != consumer_node;
}

} // namespace proctor::internal
