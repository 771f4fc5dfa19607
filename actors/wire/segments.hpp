#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "proctor/detail/segments.hpp"
#include "transport/base/scoped_fd.hpp"
#include "transport/connection.hpp"

namespace proctor::internal {

class loan_desk;

/// The sink for one frame: at most the descriptors a frame may carry.
segment_sink frame_sink();

/// The bytes of `refs` together: what they take in a frame where they
/// travel inline.
std::size_t content_size(const segment_refs& refs);

/// The descriptors to send with a frame, each kept open by its segment.
std::vector<passed_fd> passed_fds(const segment_refs& refs);

/// The segments that came with a frame as descriptors: each is checked and
/// mapped when a value first refers to it.
class incoming_segments final : public segment_source {
public:
  /// `limit` is the largest segment accepted (--proctor.max-shared-size);
  /// `loans`, if any, takes memory lent by the worker at the other end.
  incoming_segments(std::vector<scoped_fd> fds, std::uint64_t limit,
                    loan_desk* loans = nullptr);

  std::shared_ptr<const sealed_segment> get(std::uint32_t index, std::uint64_t size,
                                            std::string& why) override;

  std::shared_ptr<const sealed_segment> borrow(std::uint32_t index, std::uint64_t capacity,
                                               std::uint64_t id, std::uint64_t length,
                                               std::string& why) override;

  /// The descriptors no value took, for a frame that carries them raw (a
  /// reply that grants shared memory).
  std::vector<scoped_fd> take_untouched();

private:
  /// Descriptor `index` if no value mapped it yet; null if one did, or
  /// with why if there is no such descriptor or it failed its checks.
  scoped_fd* unmapped(std::uint32_t index, std::string& why);

  std::vector<scoped_fd> fds_;
  segment_refs mapped_;
  std::uint64_t limit_;
  loan_desk* loans_;
};

/// The descriptors that came with the frame being delivered on this thread
/// (link::on_frame makes them current), taken out of it; none elsewhere.
std::vector<scoped_fd> take_frame_descriptors();

/// The segments of a batch of encoded values (pool tasks, results, queue
/// items), as an element of an actor message: as descriptors with the
/// frame where the frame's sink is current, as their content elsewhere
/// (received into new segments).
struct segment_list {
  segment_refs refs;
  /// Lends a pool worker's recycled memory to the receiver, the worker's
  /// parent, instead of sealing it (pool results; not encoded).
  bool lend = false;
};

caf::error save_segments(caf::serializer& sink, segment_list& x);
caf::error load_segments(caf::deserializer& source, segment_list& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_list& x) {
  if constexpr (std::is_base_of_v<caf::serializer, Inspector>)
    return save_segments(f, x);
  else if constexpr (std::is_base_of_v<caf::deserializer, Inspector>)
    return load_segments(f, x);
  else
    return f(caf::meta::type_name("proctor::segment_list"));
}

} // namespace proctor::internal
