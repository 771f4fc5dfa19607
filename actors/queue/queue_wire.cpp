// How the queue's batches travel: a count, then items, or (delivery id,
// item) pairs, as records (actors/wire/records.hpp).
#include "actors/queue/queue_actor.hpp"

#include <caf/node_id.hpp>

#include "actors/wire/records.hpp"

namespace proctor::internal {

namespace {

/// A count, then `write(out, entry)` for each entry.
template <class T, class Write>
item_bytes encode_counted(std::vector<T>& entries, Write write) {
  item_bytes out;
  record_writer w{out};
  w.fields(static_cast<std::uint32_t>(entries.size()));
  for (auto& e : entries)
    write(w, e);
  return out;
}

/// A count, then `read(in, entry)` for each, and nothing after them.
template <class T, class Read>
bool decode_counted(const item_bytes& bytes, std::vector<T>& out, Read read) {
  record_reader in{bytes};
  std::uint32_t count = 0;
  if (!in.count(count))
    return false;
  out.resize(count);
  for (auto& e : out)
    if (!read(in, e))
      return false;
  return in.finished();
}

} // namespace

item_bytes encode_batch(std::vector<delivery>& batch) {
  return encode_counted(batch,
                        [](record_writer& w, delivery& d) { w.fields(d.id).blob(d.item); });
}

bool decode_batch(const item_bytes& bytes, std::vector<delivery>& out) {
  return decode_counted(bytes, out, [](record_reader& in, delivery& d) {
    return in.fields(d.id) && in.blob(d.item);
  });
}

item_bytes encode_items(std::vector<item_bytes>& items) {
  return encode_counted(items, [](record_writer& w, item_bytes& item) { w.blob(item); });
}

bool decode_items(const item_bytes& bytes, std::vector<item_bytes>& out) {
  return decode_counted(bytes, out,
                        [](record_reader& in, item_bytes& item) { return in.blob(item); });
}

item_bytes encode_ids(std::vector<std::uint64_t>& ids) {
  return encode_counted(ids, [](record_writer& w, std::uint64_t& id) { w.fields(id); });
}

bool decode_ids(const item_bytes& bytes, std::vector<std::uint64_t>& out) {
  return decode_counted(bytes, out, [](record_reader& in, std::uint64_t& id) {
    return in.fields(id);
  });
}

bool tracks_deliveries(std::size_t maxsize, const caf::node_id& queue_node,
                       const caf::node_id& consumer_node) {
  return maxsize != 0 || queue_node != consumer_node;
}

} // namespace proctor::internal
