#pragma once

// Shared memory that encoded values refer to (proctor::bytes); not API.
//
// A proctor::bytes in shared memory is encoded as an index into a list of
// segments that travels beside the encoding: as descriptors with a frame
// to a process of this host, as content elsewhere. Encoders and decoders
// find the current list through thread-local scopes, as CAF's inspectors
// take no context of ours.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace proctor::internal {

class sealed_segment;

/// The shared memory an encoded value refers to, by index.
using segment_refs = std::vector<std::shared_ptr<const sealed_segment>>;

/// The most segments one message takes along as descriptors (the
/// transport's limit on descriptors per message).
constexpr std::size_t max_segments_per_message = 16;

/// Where proctor::bytes encoded on this thread put their shared memory
/// while a sink_scope makes it current.
struct segment_sink {
  segment_refs refs;
  /// Past this many segments, values travel inline.
  std::size_t capacity = static_cast<std::size_t>(-1);
  /// A segment larger than this travels inline: the peer maps no more
  /// (--proctor.max-shared-size, which both ends of a link share).
  std::uint64_t max_size = static_cast<std::uint64_t>(-1);
  /// Whether a pool worker's recycled memory stays recycled here whatever
  /// is added: the sink of one task's results, which go back to the
  /// parent lent (pool_worker).
  bool lends = false;
  /// Whether lists marked to lend (pool results) are lent here: a frame to
  /// the parent of a pool worker, the one peer that takes loans.
  bool may_lend = false;

  /// The index under which `segment` travels in refs (one per segment,
  /// however often it is added), or nullopt once full or if it must travel
  /// inline. A pool worker's recycled memory is sealed for good first,
  /// unless this sink lends, or `lend` and it may lend (a loan, counted
  /// when first added: see lent()); memory borrowed from a worker is
  /// copied into new shared memory, which travels in its place at the same
  /// offsets.
  std::optional<std::uint32_t> add(const std::shared_ptr<const sealed_segment>& segment,
                                   bool lend = false);

  /// Whether refs[index] travels as a loan: decided once, when first added,
  /// so that every mention of it in a frame says the same.
  bool lent(std::uint32_t index) const noexcept {
    return index < lent_.size() && lent_[index];
  }

  /// The frame was never sent: its loans come back at once.
  void cancel_loans() noexcept;

private:
  /// What each of refs was added as, where a stand-in took its place
  /// (held: an address freed and reused must not match).
  std::vector<std::shared_ptr<const sealed_segment>> added_;
  std::vector<bool> lent_;
};

/// Where proctor::bytes decoded on this thread find their shared memory
/// while a source_scope makes it current.
class segment_source {
public:
  virtual ~segment_source();

  /// Segment `index`, announced as `size` bytes; null with why if there is
  /// no such segment or it is not what was announced.
  virtual std::shared_ptr<const sealed_segment> get(std::uint32_t index, std::uint64_t size,
                                                    std::string& why) = 0;

  /// The first `length` bytes of memory a worker lends as loan `id`,
  /// descriptor `index` of `capacity` bytes; null with why where loans are
  /// not taken (anywhere but from a worker this process started).
  virtual std::shared_ptr<const sealed_segment> borrow(std::uint32_t index,
                                                       std::uint64_t capacity,
                                                       std::uint64_t id, std::uint64_t length,
                                                       std::string& why);
};

/// The segments refs[base, base + count).
class refs_source final : public segment_source {
public:
  refs_source(const segment_refs& refs, std::size_t base, std::size_t count) noexcept
    : refs_(refs), base_(base), count_(count) {
  }

  std::shared_ptr<const sealed_segment> get(std::uint32_t index, std::uint64_t size,
                                            std::string& why) override;

private:
  const segment_refs& refs_;
  std::size_t base_;
  std::size_t count_;
};

/// Makes `sink` current on this thread while alive (the innermost wins).
class sink_scope {
public:
  explicit sink_scope(segment_sink& sink) noexcept;
  ~sink_scope();
  sink_scope(const sink_scope&) = delete;
  sink_scope& operator=(const sink_scope&) = delete;

  /// The current sink, or null: encode inline.
  static segment_sink* current() noexcept;

private:
  segment_sink* outer_;
};

/// Makes `source` current on this thread while alive (the innermost wins).
class source_scope {
public:
  explicit source_scope(segment_source& source) noexcept;
  ~source_scope();
  source_scope(const source_scope&) = delete;
  source_scope& operator=(const source_scope&) = delete;

  /// The current source, or null: a value that refers to a segment is
  /// malformed here.
  static segment_source* current() noexcept;

private:
  segment_source* outer_;
};

} // namespace proctor::internal
