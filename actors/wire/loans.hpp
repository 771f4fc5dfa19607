#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "transport/base/scoped_fd.hpp"
#include "transport/base/sealed_segment.hpp"

namespace proctor::internal {

/// The memory one worker lends this process (its pool results): each loan
/// is mapped read-only, the mapping of each of the worker's slots kept and
/// reused while the same memfd comes back under its id, and each loan is
/// given back (give_back(id)) once the last value here that reads it is
/// gone. One per link to a worker this process started; only those links
/// have one, so no other peer can lend anything.
///
/// Threads: borrow() on the io thread; give_back from whichever thread
/// drops the last value; `mtx_` guards the mappings kept.
class loan_desk : public std::enable_shared_from_this<loan_desk> {
public:
  using give_back_fn = std::function<void(std::uint64_t id)>;

  /// Mappings kept at most (slots of a worker's pool), and their bytes at
  /// most: as much as the worker keeps free (segment_pool::max_free_bytes).
  static constexpr std::size_t max_kept = 256;
  static constexpr std::size_t max_kept_bytes = std::size_t{256} << 20;

  /// A desk that gives loans back with `give_back`, known to trim_all().
  static std::shared_ptr<loan_desk> make(give_back_fn give_back);

  /// Unmaps the kept mappings no value reads (after a quiet spell: the
  /// worker frees its idle slots then too, so that their memory goes),
  /// and, until something is borrowed again, each as its last value goes.
  void trim();

  /// trim() on every desk of this process.
  static void trim_all();

  /// The link went down: nothing more comes, so nothing is kept for it.
  void forget();

  /// The first `length` bytes of loan `id`, which came as `fd`: a memfd
  /// sealed against growth and shrinking, of exactly `capacity` bytes, at
  /// most `limit`, with 0 < length <= capacity, all checked before
  /// anything is mapped. Otherwise null, with why (the loan is then given
  /// back at once: the descriptor is closed).
  std::shared_ptr<const sealed_segment> borrow(scoped_fd fd, std::uint64_t capacity,
                                               std::uint64_t id, std::uint64_t length,
                                               std::uint64_t limit, std::string& why);

private:
  friend class borrowed_segment;

  /// One slot's memfd, mapped read-only.
  struct mapping {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    const std::byte* data = nullptr;
    std::size_t size = 0;
    ~mapping();
  };

  explicit loan_desk(give_back_fn give_back) : give_back_(std::move(give_back)) {
  }

  void give_back(std::uint64_t id) noexcept;
  /// A value let go of loan `id` in `memory`.
  void let_go(std::uint64_t id, std::shared_ptr<mapping> memory) noexcept;
  /// Moves the kept mappings no value reads into `dropped` while `more()`;
  /// `mtx_` held.
  void drop_unread(std::vector<std::shared_ptr<mapping>>& dropped,
                   const std::function<bool()>& more);
  /// Keeps `memory` for loan `id`'s next time, within the limits.
  void keep(std::uint64_t id, const std::shared_ptr<mapping>& memory);

  give_back_fn give_back_;
  std::mutex mtx_;
  std::map<std::uint64_t, std::shared_ptr<mapping>> kept_;
  std::size_t kept_bytes_ = 0;
  bool quiet_ = false; ///< trimmed, and nothing borrowed since
};

/// A parent gives loan `id` back to the worker that lent it: posted on the
/// link request layer, served by a pool worker from its parent only.
struct loan_return_request {
  static constexpr std::string_view kind = "loan.return";
  struct reply_type {};
  std::uint64_t id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, loan_return_request& x) {
  return f(x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, loan_return_request::reply_type&) {
  return f();
}

} // namespace proctor::internal
