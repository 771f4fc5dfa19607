#include "actors/wire/segments.hpp"

#include <algorithm>

#include "actors/errors.hpp"
#include "proctor/message_type.hpp"
#include "transport/base/fd_passing.hpp"
#include "actors/wire/loans.hpp"
#include "transport/base/segment_pool.hpp"
#include "transport/base/sealed_segment.hpp"

PROCTOR_MESSAGE_TYPE(proctor::internal::segment_list);

namespace proctor::internal {

namespace {

thread_local segment_sink* current_sink = nullptr;
thread_local segment_source* current_source = nullptr;

constexpr std::uint8_t inline_form = 0;
constexpr std::uint8_t descriptor_form = 1;
/// A pool worker's recycled memory, lent to its parent: descriptor index,
/// the memfd's size, the loan's id, the length in use.
constexpr std::uint8_t loan_form = 2;

/// `segment` if it is `size` bytes, as announced; else null with why.
std::shared_ptr<const sealed_segment> as_announced(std::shared_ptr<const sealed_segment> segment,
                                                   std::uint64_t size, std::string& why) {
  if (segment->content().size() == size)
    return segment;
  why = "a shared payload whose size differs from the announced " + std::to_string(size)
        + " bytes";
  return nullptr;
}

} // namespace

std::optional<std::uint32_t>
segment_sink::add(const std::shared_ptr<const sealed_segment>& segment, bool lend) {
  added_.resize(refs.size()); // a caller may have filled refs itself
  lent_.resize(refs.size());
  for (std::size_t i = 0; i < refs.size(); ++i)
    if (refs[i] == segment || added_[i] == segment)
      return static_cast<std::uint32_t>(i);
  if (refs.size() >= capacity || segment->content().size() > max_size)
    return std::nullopt;
  auto travels = segment;
  bool loan = false;
  if (auto* slot = segment->pooled(); slot != nullptr) {
    if ((*slot)->capacity() > max_size)
      return std::nullopt;
    loan = lend && may_lend && !(*slot)->graduated();
    if (!lends && !loan
        && ((*slot)->capacity() != segment->content().size() || !(*slot)->graduate()))
      return std::nullopt; // travels inline
  } else if (segment->borrowed()) {
    try {
      travels = sealed_segment::copy_of(segment->content());
    } catch (const error&) {
      return std::nullopt; // no memory for a copy: the content travels inline
    }
  }
  if (loan)
    (*segment->pooled())->lend();
  refs.push_back(std::move(travels));
  added_.push_back(segment);
  lent_.push_back(loan);
  return static_cast<std::uint32_t>(refs.size() - 1);
}

void segment_sink::cancel_loans() noexcept {
  for (std::size_t i = 0; i < refs.size() && i < lent_.size(); ++i)
    if (lent_[i])
      try {
        (*refs[i]->pooled())->returned();
      } catch (const std::exception&) {
        // Kept lent until the worker ends: bounded by its pool.
      }
  lent_.assign(lent_.size(), false);
}

segment_source::~segment_source() = default;

std::shared_ptr<const sealed_segment> segment_source::borrow(std::uint32_t, std::uint64_t,
                                                             std::uint64_t, std::uint64_t,
                                                             std::string& why) {
  why = "lent memory where no worker can lend it";
  return nullptr;
}

std::shared_ptr<const sealed_segment>
refs_source::get(std::uint32_t index, std::uint64_t size, std::string& why) {
  if (index >= count_ || base_ + index >= refs_.size()) {
    why = "a value refers to shared memory " + std::to_string(index) + " of "
          + std::to_string(count_) + " that came with it";
    return nullptr;
  }
  return as_announced(refs_[base_ + index], size, why);
}

sink_scope::sink_scope(segment_sink& sink) noexcept : outer_(current_sink) {
  current_sink = &sink;
}

sink_scope::~sink_scope() {
  current_sink = outer_;
}

segment_sink* sink_scope::current() noexcept {
  return current_sink;
}

source_scope::source_scope(segment_source& source) noexcept : outer_(current_source) {
  current_source = &source;
}

source_scope::~source_scope() {
  current_source = outer_;
}

segment_source* source_scope::current() noexcept {
  return current_source;
}

static_assert(max_segments_per_message == max_passed_fds);

segment_sink frame_sink() {
  segment_sink sink;
  sink.capacity = max_passed_fds;
  return sink;
}

std::size_t content_size(const segment_refs& refs) {
  std::size_t n = 0;
  for (auto& segment : refs)
    n += segment->content().size();
  return n;
}

std::vector<passed_fd> passed_fds(const segment_refs& refs) {
  std::vector<passed_fd> out;
  out.reserve(refs.size());
  for (auto& segment : refs)
    out.push_back({segment->fd(), segment});
  return out;
}

incoming_segments::incoming_segments(std::vector<scoped_fd> fds, std::uint64_t limit,
                                     loan_desk* loans)
  : fds_(std::move(fds)), mapped_(fds_.size()), limit_(limit), loans_(loans) {
}

scoped_fd* incoming_segments::unmapped(std::uint32_t index, std::string& why) {
  if (index >= mapped_.size()) {
    why = "a value refers to descriptor " + std::to_string(index) + " of "
          + std::to_string(mapped_.size()) + " that came with it";
    return nullptr;
  }
  if (mapped_[index])
    return nullptr;
  if (!fds_[index]) {
    why = "a descriptor that already failed its checks";
    return nullptr;
  }
  return &fds_[index];
}

std::shared_ptr<const sealed_segment>
incoming_segments::borrow(std::uint32_t index, std::uint64_t capacity, std::uint64_t id,
                          std::uint64_t length, std::string& why) {
  if (loans_ == nullptr)
    return segment_source::borrow(index, capacity, id, length, why);
  auto* fd = unmapped(index, why);
  if (fd != nullptr)
    return mapped_[index] = loans_->borrow(std::move(*fd), capacity, id, length, limit_, why);
  if (!why.empty())
    return nullptr;
  auto& mapped = mapped_[index];
  if (!mapped->borrowed()) {
    why = "a descriptor sent both as a loan and as sealed memory";
    return nullptr;
  }
  return as_announced(mapped, length, why);
}

std::shared_ptr<const sealed_segment>
incoming_segments::get(std::uint32_t index, std::uint64_t size, std::string& why) {
  auto* fd = unmapped(index, why);
  if (fd != nullptr)
    return mapped_[index] = sealed_segment::adopt(std::move(*fd), size, limit_, why);
  if (!why.empty())
    return nullptr;
  auto& mapped = mapped_[index];
  if (mapped->borrowed()) {
    why = "a descriptor sent both as a loan and as sealed memory";
    return nullptr;
  }
  return as_announced(mapped, size, why);
}

std::vector<scoped_fd> incoming_segments::take_untouched() {
  std::vector<scoped_fd> out;
  for (std::size_t i = 0; i < fds_.size(); ++i)
    if (fds_[i] && !mapped_[i])
      out.push_back(std::move(fds_[i]));
  return out;
}

std::vector<scoped_fd> take_frame_descriptors() {
  if (auto* frame = dynamic_cast<incoming_segments*>(source_scope::current()))
    return frame->take_untouched();
  return {};
}

// -- segment_list -------------------------------------------------------------

caf::error save_segments(caf::serializer& sink, segment_list& x) {
  auto count = x.refs.size();
  if (auto err = sink.begin_sequence(count))
    return err;
  auto* frame = sink_scope::current();
  for (auto& segment : x.refs) {
    auto whole = segment->content();
    std::uint64_t size = whole.size();
    if (frame != nullptr) {
      if (auto index = frame->add(segment, x.lend)) {
        auto i = *index;
        if (frame->lent(i)) {
          // Lent: the parent maps the whole memfd and gives it back.
          auto& slot = *frame->refs[i]->pooled();
          auto form = loan_form;
          std::uint64_t capacity = slot->capacity();
          auto id = slot->id();
          if (auto err = sink(form, i, capacity, id, size))
            return err;
          continue;
        }
        auto form = descriptor_form;
        if (auto err = sink(form, i, size))
          return err;
        continue;
      }
    }
    auto form = inline_form;
    auto n = whole.size();
    if (auto err = sink(form))
      return err;
    if (auto err = sink.begin_sequence(n))
      return err;
    if (auto err = sink.apply_raw(n, const_cast<std::byte*>(whole.data())))
      return err;
    if (auto err = sink.end_sequence())
      return err;
  }
  return sink.end_sequence();
}

caf::error load_segments(caf::deserializer& source, segment_list& x) {
  std::size_t count = 0;
  // A bounded_deserializer checks the count against what remains.
  if (auto err = source.begin_sequence(count))
    return err;
  x.refs.clear();
  for (std::size_t i = 0; i < count; ++i) {
    std::uint8_t form = 0;
    if (auto err = source(form))
      return err;
    if (form == loan_form) {
      std::uint32_t index = 0;
      std::uint64_t capacity = 0;
      std::uint64_t id = 0;
      std::uint64_t length = 0;
      if (auto err = source(index, capacity, id, length))
        return err;
      auto* frame = source_scope::current();
      if (frame == nullptr)
        return make_caf_error(errc::malformed_payload,
                              "lent memory where no descriptor can come along");
      std::string why;
      auto segment = frame->borrow(index, capacity, id, length, why);
      if (!segment)
        return make_caf_error(errc::malformed_payload, why);
      x.refs.push_back(std::move(segment));
      continue;
    }
    if (form == descriptor_form) {
      std::uint32_t index = 0;
      std::uint64_t size = 0;
      if (auto err = source(index, size))
        return err;
      auto* frame = source_scope::current();
      if (frame == nullptr)
        return make_caf_error(errc::malformed_payload,
                              "shared memory where no descriptor can come along");
      std::string why;
      auto segment = frame->get(index, size, why);
      if (!segment)
        return make_caf_error(errc::malformed_payload, why);
      x.refs.push_back(std::move(segment));
      continue;
    }
    if (form != inline_form)
      return make_caf_error(errc::malformed_payload, "unknown form of shared memory");
    std::size_t n = 0;
    if (auto err = source.begin_sequence(n))
      return err;
    if (n == 0)
      return make_caf_error(errc::malformed_payload, "an empty shared segment");
    segment_writer writer{n};
    if (auto err = source.apply_raw(n, writer.span().data()))
      return err;
    if (auto err = source.end_sequence())
      return err;
    x.refs.push_back(writer.seal());
  }
  return source.end_sequence();
}

} // namespace proctor::internal
