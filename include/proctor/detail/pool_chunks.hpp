#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "proctor/task.hpp"

// How pool::map and its kin cut their input into tasks; included by pool.hpp.
namespace proctor {

namespace internal {

/// One task for the pool: `count` argument tuples for a registered function.
struct chunk {
  const task_entry* entry = nullptr;
  std::uint32_t count = 0;
  std::string args;
  /// Descriptors and pipe ends among the arguments, offered until the task
  /// is done, so that a retry hands the same ones to the next worker.
  std::shared_ptr<void> offers;
  bool no_retry = false; ///< run at most once (pool::no_retry)
  /// The shared memory of the proctor::bytes among the arguments.
  segment_refs segments;
  /// Its own limit per run, instead of the pool's task_timeout (a job's).
  std::optional<std::chrono::milliseconds> timeout;
};

/// Encodes each element of `range` as the argument tuple of Fn, `chunksize`
/// elements per chunk. `spread` says whether an element is a tuple of
/// arguments (starmap) or the one argument (map).
///
/// With `range_failure`, an exception thrown while reading an element ends
/// the chunks there and is stored in it instead of propagating: the elements
/// before it still make their chunks (imap's lazy semantics).
template <bool Spread, class R, class... Ps, class Range>
std::vector<chunk> make_chunks(R (*fn)(Ps...), Range&& range, std::size_t chunksize,
                               std::exception_ptr* range_failure = nullptr) {
  auto* entry = &registered_task(reinterpret_cast<const void*>(fn));
  std::vector<chunk> chunks;
  if constexpr (std::ranges::sized_range<Range>)
    chunks.reserve(std::ranges::size(range) / chunksize + 1);
  std::vector<char> buf;
  std::optional<offer_collector> offers; // offered until each task is done
  segment_sink shared;                   // each chunk's bytes' memory
  auto seal = [&] {
    chunks.back().args.assign(buf.begin(), buf.end());
    chunks.back().offers = offers->take();
    chunks.back().segments = std::move(shared.refs);
    shared.refs.clear();
    offers.reset();
    buf.clear();
  };
  std::optional<std::size_t> element_start; // in buf, of the element being added
  auto add = [&](auto&& element) {
    if (chunks.empty() || chunks.back().count == chunksize) {
      if (!chunks.empty())
        seal();
      chunks.push_back({entry, 0, {}, {}});
      offers.emplace(offer_collector::until_done);
    }
    element_start = buf.size();
    std::tuple<std::decay_t<Ps>...> args = [&] {
      if constexpr (Spread)
        return std::apply(
          [](auto&&... xs) { return std::tuple<std::decay_t<Ps>...>{xs...}; }, element);
      else
        return std::tuple<std::decay_t<Ps>...>{element};
    }();
    {
      sink_scope scope{shared};
      encode_arguments(buf, args);
    }
    ++chunks.back().count;
    element_start.reset();
  };
  if (range_failure == nullptr) {
    for (auto&& element : range)
      add(element);
  } else {
    try {
      for (auto it = std::ranges::begin(range); it != std::ranges::end(range); ++it) {
        decltype(auto) element = *it; // may throw: the range's own failure
        add(element);
      }
    } catch (...) {
      *range_failure = std::current_exception();
      if (element_start)
        buf.resize(*element_start);
      if (!chunks.empty() && chunks.back().count == 0) {
        chunks.pop_back(); // opened for the element that failed
        return chunks;     // the one before it is sealed
      }
    }
  }
  if (!chunks.empty())
    seal();
  return chunks;
}

/// Python's default chunk size for map: about four chunks per worker.
std::size_t default_chunksize(std::size_t items, std::size_t workers);

template <class Range>
std::size_t size_of(Range& range) {
  if constexpr (std::ranges::sized_range<Range>)
    return std::ranges::size(range);
  else
    return static_cast<std::size_t>(std::ranges::distance(range));
}

} // namespace internal

} // namespace proctor
