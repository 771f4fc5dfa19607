#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace proctor::internal {

/// A process's acks of the queue items get() returned, sent in batches.
/// ack() records one and returns; the batcher's actor sends what has
/// gathered, one message per consumer session, whenever it runs, so a
/// consumer faster than a send gives many acks per message instead of one
/// send each. An ack goes out as its session (the queue's ledger knows the
/// session), and before the session ends: its down message must not reach
/// the queue first, or the queue would deliver the item again.
/// Threads: any; one mutex, held while sending (so a batch taken by one
/// thread is out before another finds nothing left and goes on).
class ack_batcher : public std::enable_shared_from_this<ack_batcher> {
public:
  static std::shared_ptr<ack_batcher> make(caf::actor_system& sys);
  ~ack_batcher();

  /// Session `fetcher` got delivery `id` from `queue` and returned it.
  void ack(const caf::actor& fetcher, const caf::actor& queue, std::uint64_t id);

  /// Sends the acks of `fetcher` now: the session is about to end.
  void send_of(const caf::actor& fetcher);

  /// Sends every ack now: the process is about to end.
  void send_all();

private:
  ack_batcher() = default;

  struct pending {
    caf::actor queue;
    std::vector<std::uint64_t> ids;
  };
  static void send(const caf::actor& fetcher, pending& p);

  std::mutex mtx_;
  std::map<caf::actor, pending> pending_;
  bool poked_ = false; ///< the actor will look at pending_
  caf::actor actor_;
};

} // namespace proctor::internal
