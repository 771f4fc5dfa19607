#pragma once

// The shared memory blocks of one host (proctor::shared_memory and the
// shared_value and shared_array built on it), on the link request layer:
// the host's root runtime (the master, or a node for the processes it
// started) holds the table of names; a worker asks its parent. Served only
// on links to the root's own workers, which pass descriptors: a block is
// granted as a memfd that comes with the reply.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/remote/link_requests.hpp"

namespace proctor::internal {

/// A block the root holds for its holders, granted with its descriptor.
struct block_grant {
  std::string name;
  std::uint64_t serial = 0; ///< which block of that name, unique per root
  std::uint64_t size = 0;
  std::string home;         ///< the root's node id, as text
  std::vector<passed_fd> sent;
  std::vector<scoped_fd> received;
};

/// A new block of `size` zero bytes named `name` (a fresh name if empty);
/// the sender holds it. Errors: name_taken, bad_argument,
/// resource_exhausted.
struct block_create_request {
  static constexpr std::string_view kind = "block.create";
  using reply_type = block_grant;
  std::string name;
  std::uint64_t size = 0;
};

/// The block named `name` (which must be block `serial` unless that is 0,
/// and this root's unless `home` is empty); the sender holds it. Errors:
/// no_such_block.
struct block_attach_request {
  static constexpr std::string_view kind = "block.attach";
  using reply_type = block_grant;
  std::string name;
  std::uint64_t serial = 0;
  std::string home;
};

/// The sender lets go of one hold on block `serial` named `name`. Posted:
/// its reply is dropped.
struct block_release_request {
  static constexpr std::string_view kind = "block.release";
  struct reply_type {};
  std::string name;
  std::uint64_t serial = 0;
};

/// Removes the name of block `serial`: nothing attaches to it any more;
/// its memory goes with its last holder's mapping. Errors: no_such_block.
struct block_unlink_request {
  static constexpr std::string_view kind = "block.unlink";
  struct reply_type {};
  std::string name;
  std::uint64_t serial = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_grant& x) {
  return f(x.name, x.serial, x.size, x.home);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_create_request& x) {
  return f(x.name, x.size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_attach_request& x) {
  return f(x.name, x.serial, x.home);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_release_request& x) {
  return f(x.name, x.serial);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_unlink_request& x) {
  return f(x.name, x.serial);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_release_request::reply_type&) {
  return f();
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_unlink_request::reply_type&) {
  return f();
}

} // namespace proctor::internal
