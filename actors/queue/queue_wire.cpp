// How the queue's batches travel: counted sequences of items, and of
// (delivery id, item) pairs, as CAF binary data.
#include "actors/queue/queue_actor.hpp"
#include "proctor/detail/bounded_deserializer.hpp"

#include <caf/binary_serializer.hpp>
#include <caf/node_id.hpp>

namespace proctor::internal {

namespace {

/// A count, then `fields(sink, entry)` of each entry.
template <class T, class Fields>
item_bytes encode_counted(std::vector<T>& entries, Fields fields) {
  item_bytes out;
  caf::binary_serializer sink{nullptr, out};
  auto err = sink(static_cast<std::uint32_t>(entries.size()));
  for (auto& e : entries)
    if (!err)
      err = fields(sink, e);
  return out;
}

template <class T, class Fields>
bool decode_counted(const item_bytes& bytes, std::vector<T>& out, Fields fields) {
  bounded_deserializer source{nullptr, bytes.data(), bytes.size()};
  std::uint32_t count = 0;
  // Each entry takes bytes: a count beyond them is a lie, not an allocation.
  if (source(count) || count > bytes.size())
    return false;
  out.resize(count);
  for (auto& e : out)
    if (fields(source, e))
      return false;
  return source.remaining() == 0;
}

auto delivery_fields = [](auto& f, delivery& d) { return f(d.id, d.item); };
auto item_fields = [](auto& f, item_bytes& item) { return f(item); };

} // namespace

item_bytes encode_batch(std::vector<delivery>& batch) {
  return encode_counted(batch, delivery_fields);
}

bool decode_batch(const item_bytes& bytes, std::vector<delivery>& out) {
  return decode_counted(bytes, out, delivery_fields);
}

item_bytes encode_items(std::vector<item_bytes>& items) {
  return encode_counted(items, item_fields);
}

bool decode_items(const item_bytes& bytes, std::vector<item_bytes>& out) {
  return decode_counted(bytes, out, item_fields);
}

bool tracks_deliveries(std::size_t maxsize, const caf::node_id& queue_node,
                       const caf::node_id& consumer_node) {
  return maxsize != 0 || queue_node != consumer_node;
}

} // namespace proctor::internal
