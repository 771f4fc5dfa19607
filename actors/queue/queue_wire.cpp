// How the queue's batches travel: a count, then items, or (delivery id,
// item) pairs, as records (actors/wire/records.hpp). An item's record names
// the range of the batch's segment list that its shared memory is.
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

/// Item `item`'s record: its range of `segments`, then its data.
void write_item(record_writer& w, const queue_item& item, segment_refs& segments) {
  w.fields(static_cast<std::uint32_t>(segments.size()),
           static_cast<std::uint32_t>(item.segments.size()))
    .blob(item.data);
  segments.insert(segments.end(), item.segments.begin(), item.segments.end());
}

bool read_item(record_reader& in, const segment_refs& segments, queue_item& item) {
  std::uint32_t base = 0;
  std::uint32_t count = 0;
  if (!in.fields(base, count) || !in.blob(item.data))
    return false;
  if (base > segments.size() || count > segments.size() - base)
    return false;
  item.segments.assign(segments.begin() + base, segments.begin() + base + count);
  return true;
}

} // namespace

std::size_t wire_size(const queue_item& item) {
  return item.data.size() + content_size(item.segments);
}

encoded_batch encode_batch(std::vector<delivery_view>& batch) {
  encoded_batch out;
  out.records = encode_counted(batch, [&](record_writer& w, delivery_view& d) {
    w.fields(d.id);
    write_item(w, *d.item, out.segments.refs);
  });
  return out;
}

encoded_batch encode_batch(std::vector<delivery>& batch) {
  std::vector<delivery_view> views;
  views.reserve(batch.size());
  for (auto& d : batch)
    views.push_back({d.id, &d.item});
  return encode_batch(views);
}

bool decode_batch(const item_bytes& records, const segment_refs& segments,
                  std::vector<delivery>& out) {
  return decode_counted(records, out, [&](record_reader& in, delivery& d) {
    return in.fields(d.id) && read_item(in, segments, d.item);
  });
}

encoded_batch encode_items(std::vector<queue_item>& items) {
  encoded_batch out;
  out.records = encode_counted(
    items, [&](record_writer& w, queue_item& item) { write_item(w, item, out.segments.refs); });
  return out;
}

bool decode_items(const item_bytes& records, const segment_refs& segments,
                  std::vector<queue_item>& out) {
  return decode_counted(records, out, [&](record_reader& in, queue_item& item) {
    return read_item(in, segments, item);
  });
}

item_bytes encode_blobs(std::vector<item_bytes>& blobs) {
  return encode_counted(blobs, [](record_writer& w, item_bytes& blob) { w.blob(blob); });
}

bool decode_blobs(const item_bytes& bytes, std::vector<item_bytes>& out) {
  return decode_counted(bytes, out,
                        [](record_reader& in, item_bytes& blob) { return in.blob(blob); });
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
