#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <caf/expected.hpp>

namespace proctor::internal {

class shared_block;

/// Who holds a block: the link a worker holds it through, or null for the
/// root's own process.
using block_holder = const void*;

/// The named shared memory blocks of one host, kept by its root runtime. A
/// block lives while it has a name and a holder: when its last holder lets
/// go, or dies (its link goes down), its name goes and the root drops its
/// descriptor; the memory goes with the last mapping of it in any process.
/// Every call may come from any thread (the io thread serves workers) and
/// holds `mtx_` only to settle the table; none blocks.
class block_table {
public:
  /// `limit` is the largest block (--proctor.max-shared-size).
  explicit block_table(std::uint64_t limit) : limit_(limit) {
  }

  struct granted {
    std::shared_ptr<shared_block> block;
    std::string name;
    std::uint64_t serial = 0;
  };

  /// A new block of `size` zero bytes named `name` (a fresh name if
  /// empty), held once by `who`. Errors: name_taken, bad_argument,
  /// resource_exhausted.
  caf::expected<granted> create(std::string name, std::uint64_t size, block_holder who);

  /// The block named `name`, which must be block `serial` unless that is
  /// 0, held once more by `who`. Errors: no_such_block.
  caf::expected<granted> attach(const std::string& name, std::uint64_t serial, block_holder who);

  /// `who` lets go of one hold on block `serial` named `name`; nothing if
  /// it holds none (a release that crossed an unlink).
  void release(const std::string& name, std::uint64_t serial, block_holder who);

  /// Removes the name of block `serial`. Errors: no_such_block.
  caf::expected<void> unlink(const std::string& name, std::uint64_t serial);

  /// `who` is gone: every hold of it goes.
  void drop_holder(block_holder who);

  /// How many blocks have a name.
  std::size_t size() const;

private:
  struct entry {
    std::shared_ptr<shared_block> block;
    std::uint64_t serial = 0;
    std::map<block_holder, std::uint64_t> holds;
  };

  std::uint64_t limit_;
  mutable std::mutex mtx_;
  std::map<std::string, entry> named_;
  std::uint64_t last_serial_ = 0;
};

} // namespace proctor::internal
