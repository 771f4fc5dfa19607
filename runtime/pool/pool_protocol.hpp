#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <caf/atom.hpp>

namespace proctor::internal {

// What a pool says to its workers and they answer. Tasks travel in batches,
// results too: one message carries as many as are ready, so that a pool of
// tiny tasks is not bound by one message (and one thread wake-up) per task.
// Every task carries its id, so a result that arrives twice (a task that ran
// twice) is recognized. The proctor::bytes of a batch's records share one
// segment_list: each record names its range in it (base, count).
//
// pool -> worker:
//   (pl_init, string task, string args)   run the initializer first
//   (pl_run, vector<char> tasks, segment_list)
//                                         task records, run in order
//   (pl_stop)                             finish what you have, then end
// worker -> pool:
//   (pl_ready)                            the initializer returned
//   (pl_result, vector<char> results, segment_list)
//                                         result records, in the tasks' order
//   (pl_failed, uint64 0, uint8 errc, string type, string what)
//                                         the initializer failed
using pool_init_atom = caf::atom_constant<caf::atom("pl_init")>;
using pool_run_atom = caf::atom_constant<caf::atom("pl_run")>;
using pool_stop_atom = caf::atom_constant<caf::atom("pl_stop")>;
using pool_ready_atom = caf::atom_constant<caf::atom("pl_ready")>;
using pool_result_atom = caf::atom_constant<caf::atom("pl_result")>;
using pool_failed_atom = caf::atom_constant<caf::atom("pl_failed")>;

/// A batch is sent once it holds this many bytes, so that none comes near
/// the transport's frame limit; one record never is split.
constexpr std::size_t max_batch_bytes = 1u << 20;

/// Room a record needs beyond its arguments or results, for the frame limit.
constexpr std::size_t record_overhead = 4096;

/// The bytes a batch may hold under a frame limit of `max_frame_size`: a
/// record that would take a batch past it starts the next one.
constexpr std::size_t batch_limit(std::size_t max_frame_size) {
  auto room = max_frame_size > record_overhead ? max_frame_size - record_overhead : 0;
  return room < max_batch_bytes ? room : max_batch_bytes;
}

/// What a task record adds to a batch, at most (id, count, lengths).
inline std::size_t task_record_size(const std::string& name, const std::string& args) {
  return name.size() + args.size() + 32;
}

/// One task of a batch: `count` argument tuples of `name`, encoded one after
/// another in `args`, which views the batch (no copy): valid while it is.
struct task_record {
  std::uint64_t id = 0;
  std::string name;
  std::uint32_t count = 0;
  std::uint32_t segment_base = 0;
  std::uint32_t segment_count = 0;
  std::string_view args;
};

/// One result of a batch: `code` 0 and the `count` results encoded one after
/// another in `bytes`, or the errc the task failed with and the exception's
/// type and what(). `run_us`: how long the call ran.
struct result_record {
  std::uint64_t id = 0;
  std::uint8_t code = 0;
  std::uint32_t run_us = 0;
  std::uint32_t segment_base = 0;
  std::uint32_t segment_count = 0;
  std::vector<char> bytes;
  std::string type;
  std::string what;
};

void append_task(std::vector<char>& batch, std::uint64_t id, const std::string& name,
                 std::uint32_t count, std::uint32_t segment_base,
                 std::uint32_t segment_count, std::string_view args);
void append_result(std::vector<char>& batch, const result_record& r);

/// Decode a batch record by record; false at its end, or (with `malformed`
/// set) at a record that does not decode.
class batch_reader {
public:
  explicit batch_reader(std::span<const char> batch) : batch_(batch) {
  }

  bool next(task_record& out);
  bool next(result_record& out);

  bool malformed() const noexcept {
    return malformed_;
  }

private:
  template <class Decode>
  bool read(Decode decode);

  std::span<const char> batch_;
  bool malformed_ = false;
};

/// The name under which workers of every binary host the pool's task actor.
inline constexpr const char* pool_worker_actor = "proctor.pool_worker";

/// Registers the pool worker actor (once; before the binary's fingerprint
/// is taken, so that master and workers agree on it).
void register_pool_worker();

} // namespace proctor::internal
