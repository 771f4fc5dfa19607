// How the queue's batches travel: a count, then items, or (delivery id,
// item) pairs, as records (actors/wire/records.hpp). In a batch with shared
// memory, an item's record says how many of the batch's segments are its
// own: each item takes the next ones, and the batch must use them all.
#include "actors/queue/queue_actor.hpp"

#include <algorithm>

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

/// Item `item`'s record: if the batch has shared memory at all (`counted`),
/// how many of the batch's segments are its own (the next ones: items take
/// theirs in order); then its data. Small items cost no extra field.
void write_item(record_writer& w, const queue_item& item, bool counted,
                segment_refs& segments) {
  if (counted)
    w.fields(static_cast<std::uint8_t>(item.segments.size()));
  w.blob(item.data);
  segments.insert(segments.end(), item.segments.begin(), item.segments.end());
}

/// Reads an item whose segments start at `next` of `segments` (a batch
/// with segments counts them per item), and moves `next` past them.
bool read_item(record_reader& in, const segment_refs& segments, std::size_t& next,
               queue_item& item) {
  std::uint8_t count = 0;
  if (!segments.empty() && !in.fields(count))
    return false;
  if (!in.blob(item.data) || count > segments.size() - next)
    return false;
  if (count > 0)
    item.segments.assign(segments.begin() + static_cast<std::ptrdiff_t>(next),
                         segments.begin() + static_cast<std::ptrdiff_t>(next + count));
  next += count;
  return true;
}

/// Whether any of `items` has shared memory.
template <class T, class Item>
bool any_shared(const std::vector<T>& entries, Item item_of) {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const T& e) { return !item_of(e).segments.empty(); });
}

} // namespace

std::size_t wire_size(const queue_item& item) {
  return item.data.size() + content_size(item.segments);
}

encoded_batch encode_batch(std::vector<delivery_view>& batch) {
  encoded_batch out;
  auto counted = any_shared(batch, [](const delivery_view& d) -> auto& { return *d.item; });
  out.records = encode_counted(batch, [&](record_writer& w, delivery_view& d) {
    w.fields(d.id);
    write_item(w, *d.item, counted, out.segments.refs);
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
  std::size_t next = 0;
  return decode_counted(records, out, [&](record_reader& in, delivery& d) {
    return in.fields(d.id) && read_item(in, segments, next, d.item);
  }) && next == segments.size();
}

encoded_batch encode_items(std::vector<queue_item>& items) {
  encoded_batch out;
  auto counted = any_shared(items, [](const queue_item& item) -> auto& { return item; });
  out.records = encode_counted(items, [&](record_writer& w, queue_item& item) {
    write_item(w, item, counted, out.segments.refs);
  });
  return out;
}

bool decode_items(const item_bytes& records, const segment_refs& segments,
                  std::vector<queue_item>& out) {
  std::size_t next = 0;
  return decode_counted(records, out, [&](record_reader& in, queue_item& item) {
    return read_item(in, segments, next, item);
  }) && next == segments.size();
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
