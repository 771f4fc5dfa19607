#include "actors/wire/segments.hpp"

#include <algorithm>

#include "transport/base/fd_passing.hpp"
#include "transport/base/sealed_segment.hpp"

namespace proctor::internal {

namespace {

thread_local outgoing_segments* current_sink = nullptr;
thread_local incoming_segments* current_source = nullptr;

} // namespace

std::optional<std::uint32_t>
outgoing_segments::add(std::shared_ptr<const sealed_segment> segment) {
  auto i = std::find(segments_.begin(), segments_.end(), segment);
  if (i != segments_.end())
    return static_cast<std::uint32_t>(i - segments_.begin());
  if (segments_.size() == max_passed_fds)
    return std::nullopt;
  segments_.push_back(std::move(segment));
  return static_cast<std::uint32_t>(segments_.size() - 1);
}

std::vector<passed_fd> outgoing_segments::passed_fds() const {
  std::vector<passed_fd> out;
  out.reserve(segments_.size());
  for (auto& segment : segments_)
    out.push_back({segment->fd(), segment});
  return out;
}

incoming_segments::incoming_segments(std::vector<scoped_fd> fds, std::uint64_t limit)
  : fds_(std::move(fds)), mapped_(fds_.size()), limit_(limit) {
}

std::shared_ptr<const sealed_segment>
incoming_segments::get(std::uint32_t index, std::uint64_t size, std::string& why) {
  if (index >= mapped_.size()) {
    why = "a value refers to descriptor " + std::to_string(index) + " of "
          + std::to_string(mapped_.size()) + " that came with it";
    return nullptr;
  }
  auto& mapped = mapped_[index];
  if (!mapped) {
    if (!fds_[index]) {
      why = "a descriptor that already failed its checks";
      return nullptr;
    }
    mapped = sealed_segment::adopt(std::move(fds_[index]), size, limit_, why);
    return mapped;
  }
  if (mapped->content().size() != size) {
    why = "two sizes announced for one shared payload";
    return nullptr;
  }
  return mapped;
}

segment_sink_scope::segment_sink_scope(outgoing_segments& table) noexcept
  : outer_(current_sink) {
  current_sink = &table;
}

segment_sink_scope::~segment_sink_scope() {
  current_sink = outer_;
}

outgoing_segments* segment_sink_scope::current() noexcept {
  return current_sink;
}

segment_source_scope::segment_source_scope(incoming_segments& table) noexcept
  : outer_(current_source) {
  current_source = &table;
}

segment_source_scope::~segment_source_scope() {
  current_source = outer_;
}

incoming_segments* segment_source_scope::current() noexcept {
  return current_source;
}

} // namespace proctor::internal
