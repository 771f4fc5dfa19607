// Fuzz targets for what follows the handshake: actor frames through a
// router, the pool's and the queue's batch records, control payloads.
#include "tests/fuzz/targets.hpp"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/node_id.hpp>

#include "actors/errors.hpp"
#include "actors/remote/link.hpp"
#include "actors/remote/link_requests.hpp"
#include "actors/queue/queue_actor.hpp"
#include "actors/remote/router.hpp"
#include "actors/wire/loans.hpp"
#include "actors/wire/segments.hpp"
#include "proctor/detail/bounded_deserializer.hpp"
#include "transport/base/segment_pool.hpp"
#include "transport/base/sealed_segment.hpp"
#include "proctor/errc.hpp"
#include "actors/wire/codec.hpp"
#include "runtime/pool/pool_protocol.hpp"

namespace proctor::fuzz {

using namespace internal;

namespace {

/// One actor system and router for every input; never destroyed, so that no
/// input runs into the end of a static's life.
router& fuzz_router() {
  static auto* cfg = new caf::actor_system_config;
  // No cfg->set(): built by clang against Debian's CAF, its check of a
  // size_t option called through a null pointer. The default scheduler
  // serves as well.
  static auto* sys = new caf::actor_system{*cfg};
  static auto* r = new router{*sys};
  return *r;
}

[[noreturn]] void mismatch() {
  __builtin_trap();
}

} // namespace

int actor_frame(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  auto& r = fuzz_router();
  static constexpr frame_kind kinds[] = {frame_kind::message, frame_kind::monitor,
                                         frame_kind::down, frame_kind::node_down};
  auto kind = kinds[data[0] % 4];
  // A link with no connection: whatever the router answers through it fails
  // to send, as it would once the peer is gone.
  auto from = std::make_shared<link>(r, nullptr, [](link&, std::error_code, std::string) {});
  r.handle(*from, kind, {reinterpret_cast<const char*>(data + 1), size - 1});
  // Forget every route and proxy this input made.
  r.link_down(*from, make_caf_error(errc::connection_closed, "fuzz input done"));
  return 0;
}

int pool_batch(const std::uint8_t* data, std::size_t size) {
  std::span<const char> bytes{reinterpret_cast<const char*>(data), size};
  // Every task record that decodes encodes to bytes that decode alike (the
  // bytes may differ: a varint need not be minimal).
  std::vector<task_record> tasks;
  std::vector<char> again;
  batch_reader reader{bytes};
  for (task_record task; reader.next(task);) {
    append_task(again, task.id, task.name, task.count, task.segment_base, task.segment_count, task.args);
    tasks.push_back(task);
  }
  batch_reader reread{again};
  for (auto& task : tasks) {
    task_record copy;
    if (!reread.next(copy) || copy.id != task.id || copy.name != task.name
        || copy.count != task.count || copy.args != task.args)
      mismatch();
  }
  batch_reader results{bytes};
  for (result_record result; results.next(result);) {
  }
  return 0;
}

bool same_items(const queue_item& x, const queue_item& y) {
  return x.data == y.data && x.segments == y.segments;
}

int queue_batch(const std::uint8_t* data, std::size_t size) {
  item_bytes bytes(reinterpret_cast<const char*>(data),
                   reinterpret_cast<const char*>(data) + size);
  // No shared memory comes with fuzzed records: a record that names some
  // must fail to decode.
  const segment_refs none;
  std::vector<delivery> deliveries;
  if (decode_batch(bytes, none, deliveries)) {
    std::vector<delivery> copy;
    auto again = encode_batch(deliveries);
    if (!decode_batch(again.records, again.segments.refs, copy)
        || copy.size() != deliveries.size())
      mismatch();
    for (std::size_t i = 0; i < copy.size(); ++i)
      if (copy[i].id != deliveries[i].id || !same_items(copy[i].item, deliveries[i].item))
        mismatch();
  }
  std::vector<queue_item> items;
  if (decode_items(bytes, none, items)) {
    std::vector<queue_item> copy;
    auto again = encode_items(items);
    if (!decode_items(again.records, again.segments.refs, copy) || copy.size() != items.size())
      mismatch();
    for (std::size_t i = 0; i < copy.size(); ++i)
      if (!same_items(copy[i], items[i]))
        mismatch();
  }
  return 0;
}

int control(const std::uint8_t* data, std::size_t size) {
  std::span<const char> bytes{reinterpret_cast<const char*>(data), size};
  // A request, as request_server reads it: its head, then a lookup's fields.
  std::uint64_t id = 0;
  std::string kind;
  lookup_request lookup;
  if (decode(bytes, id, kind, lookup)) {
    auto again = encode_request(id, kind, encode(lookup));
    std::uint64_t id2 = 0;
    std::string kind2;
    lookup_request lookup2;
    if (!decode(again, id2, kind2, lookup2) || id2 != id || kind2 != kind
        || lookup2.name != lookup.name)
      mismatch();
  }
  // A reply, as link_requests reads it: its head, then a spawn's or a
  // lookup's answer.
  reply_head head;
  if (decode_reply_head(bytes, head)) {
    actor_address address;
    (void) decode(head.fields, address);
  }
  return 0;
}

int segment_list(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  // The descriptors a frame might bring: sealed memory, a worker's recycled
  // slot (never sealed against writes), a pipe. The first byte picks which
  // come, in which order, and whether a loan desk takes loans.
  static constexpr std::size_t slot_size = 1 << 16;
  static auto* pool = new segment_pool;
  static auto* slot = new std::shared_ptr<pool_slot>(pool->take(slot_size));
  static auto sealed = sealed_segment::copy_of(std::vector<std::byte>(slot_size));  // never freed
  std::vector<scoped_fd> fds;
  for (int i = 0; i < 3; ++i)
    switch ((data[0] >> (2 * i)) & 3) {
      case 1:
        fds.emplace_back(::dup(sealed->fd()));
        break;
      case 2:
        fds.emplace_back(::dup((*slot)->fd()));
        break;
      case 3: {
        int ends[2];
        if (::pipe(ends) == 0) {
          ::close(ends[1]);
          fds.emplace_back(ends[0]);
        }
        break;
      }
      default:
        break;
    }
  std::shared_ptr<loan_desk> desk;
  if (data[0] & 0x40)
    desk = loan_desk::make([](std::uint64_t) {});
  incoming_segments incoming{std::move(fds), std::uint64_t{1} << 20, desk.get()};
  source_scope scope{incoming};
  bounded_deserializer source{nullptr, reinterpret_cast<const char*>(data + 1), size - 1};
  internal::segment_list list;
  if (!load_segments(source, list))
    for (auto& segment : list.refs)
      if (segment->borrowed() && segment->content().size() > slot_size)
        mismatch(); // a loan past the memory that came
  return 0;
}

std::span<const target> all_targets() {
  static const target targets[] = {
    {"frame_header", frame_header}, {"handshake", handshake},
    {"actor_frame", actor_frame},   {"pool_batch", pool_batch},
    {"queue_batch", queue_batch},   {"control", control},
    {"segment_list", segment_list},
  };
  return targets;
}

} // namespace proctor::fuzz
