#pragma once

// Threads. A table belongs to the one thread that encodes or decodes with
// it; the scopes that make a table current are thread-local, so encoders
// on other threads never see it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/base/scoped_fd.hpp"
#include "transport/connection.hpp"

namespace proctor::internal {

class sealed_segment;

/// The segments that values being encoded hand over by descriptor. Filled
/// only while a segment_sink_scope makes it current: the encoder knows the
/// value goes to a process of this host that takes descriptors.
class outgoing_segments {
public:
  /// The index of `segment` in this table (one index per segment, however
  /// often it is added), or nullopt once the table is full: the value then
  /// travels inline.
  std::optional<std::uint32_t> add(std::shared_ptr<const sealed_segment> segment);

  bool empty() const noexcept {
    return segments_.empty();
  }

  /// The descriptors to send along, each kept open by its segment.
  std::vector<passed_fd> passed_fds() const;

private:
  std::vector<std::shared_ptr<const sealed_segment>> segments_;
};

/// The segments that came with what is being decoded: descriptors from a
/// frame, checked and mapped when a value first refers to them.
class incoming_segments {
public:
  /// `limit` is the largest segment accepted (--proctor.max-shared-size).
  incoming_segments(std::vector<scoped_fd> fds, std::uint64_t limit);

  /// Segment `index`, which the sender announced as `size` bytes; null with
  /// why if there is no such descriptor or it is not what was announced.
  std::shared_ptr<const sealed_segment> get(std::uint32_t index, std::uint64_t size,
                                            std::string& why);

private:
  std::vector<scoped_fd> fds_;
  std::vector<std::shared_ptr<const sealed_segment>> mapped_;
  std::uint64_t limit_;
};

/// While alive, `bytes` encoded on this thread hand their shared memory to
/// `table` instead of being copied inline.
class segment_sink_scope {
public:
  explicit segment_sink_scope(outgoing_segments& table) noexcept;
  ~segment_sink_scope();
  segment_sink_scope(const segment_sink_scope&) = delete;
  segment_sink_scope& operator=(const segment_sink_scope&) = delete;

  /// The innermost table, or null: encode inline.
  static outgoing_segments* current() noexcept;

private:
  outgoing_segments* outer_;
};

/// While alive, `bytes` decoded on this thread take their segments from
/// `table`.
class segment_source_scope {
public:
  explicit segment_source_scope(incoming_segments& table) noexcept;
  ~segment_source_scope();
  segment_source_scope(const segment_source_scope&) = delete;
  segment_source_scope& operator=(const segment_source_scope&) = delete;

  /// The innermost table, or null: a value that refers to a segment is
  /// malformed here.
  static incoming_segments* current() noexcept;

private:
  incoming_segments* outer_;
};

} // namespace proctor::internal
