#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>

#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/message_id.hpp>
#include <caf/node_id.hpp>

#include "transport/connection.hpp"

namespace proctor::internal {

class loan_desk;
class router;

// Threads. The connection_handler callbacks run on the io thread and never
// block: a frame becomes a mailbox element (enqueue does not block), a
// forward (a send from the io thread never waits), or a control hook call.
// send, track_request, fail_requests and close may be called from any
// thread; mtx_ guards the connection pointer, the peer and the pending
// requests, and is never held across a send or an enqueue.

/// The actor layer's side of one connection: it turns frames into mailbox
/// elements and remembers the requests that wait for an answer through it.
class link : public connection_handler,
             public std::enable_shared_from_this<link> {
public:
  /// Frames of the runtime (run_task, request, reply) go to this hook.
  using control_hook =
    std::function<std::error_code(link&, frame_kind, std::span<const char>)>;

  /// Decides the reason the actors behind a closed link are reported down
  /// with; must call router::link_down exactly once, on any thread.
  using closed_hook = std::function<void(link&, std::error_code, std::string)>;

  link(router& owner, control_hook on_control, closed_hook on_closed);

  void attach(std::shared_ptr<connection> conn);

  /// Sends one frame; once the link is down, fails with the reason it went
  /// down for (connection_closed before it was attached).
  std::error_code send(frame_kind kind, std::span<const char> payload);

  /// Sends a frame the connection takes over, with descriptors (see
  /// connection::send).
  std::error_code send(frame_kind kind, std::vector<char>&& payload,
                       std::vector<passed_fd> fds);

  /// Whether a value for `node` may travel as shared memory through this
  /// link: the link passes descriptors and `node` is the peer itself (a
  /// frame forwarded on could not take them along).
  bool shares_memory_with(const caf::node_id& node) const;

  /// The largest shared memory the peer maps (--proctor.max-shared-size);
  /// 0 while the link is down.
  std::uint64_t max_shared_size() const;

  /// Takes the memory the worker at the other end lends (its pool
  /// results) through `desk`; set once, before frames flow, and only on
  /// links to workers this process started.
  void take_loans(std::shared_ptr<loan_desk> desk) {
    loans_ = std::move(desk);
  }

  const std::shared_ptr<loan_desk>& loans() const noexcept {
    return loans_;
  }

  /// The peer is this process's parent, which takes the memory this
  /// process lends (a pool worker's results); set once, before frames flow.
  void lend_to_peer() noexcept {
    lends_to_peer_ = true;
  }

  bool lends_to_peer() const noexcept {
    return lends_to_peer_;
  }

  /// Why the link went down, with its detail; empty while it is up.
  std::pair<std::error_code, std::string> closed_reason() const;

  /// The peer's node, known once the handshake is done.
  caf::node_id peer() const;

  std::uint32_t peer_pid() const;

  /// How long ago the peer was last heard from (max if never attached).
  std::chrono::steady_clock::duration heard_ago() const;

  /// Remembers a request written to this link so that its sender gets an
  /// error instead of waiting forever if the link or the node goes down.
  void track_request(const caf::strong_actor_ptr& sender, caf::message_id mid,
                     const caf::node_id& receiver_node);

  /// Forgets a request: its response arrived through this link.
  void untrack_request(caf::actor_id sender, caf::message_id request);

  /// Answers every tracked request to `node` (or all, if `node` is none) with
  /// `reason`.
  void fail_requests(const caf::node_id& node, const caf::error& reason);

  void close(std::error_code reason, std::string detail);

  /// The peer's process ended: its last frames first (see
  /// connection::close_when_drained).
  void close_when_drained(std::error_code reason, std::string detail);

  /// Bytes queued on the connection, not yet taken by the socket.
  std::size_t queued_bytes() const;

  /// Waits until the frames sent so far are written (see connection::flush).
  bool flush(std::chrono::steady_clock::time_point deadline);

  // -- connection_handler ------------------------------------------------------

  std::error_code on_established(connection& conn, const peer_info& peer,
                                 std::string& detail) override;

  std::error_code on_frame(connection& conn, frame_kind kind,
                           std::span<const char> payload) override;

  void on_closed(connection& conn, std::error_code reason,
                 const std::string& detail) override;

private:
  std::error_code dispatch(frame_kind kind, std::span<const char> payload);

  struct pending_request {
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    caf::node_id receiver_node;
  };

  router& owner_;
  std::shared_ptr<loan_desk> loans_; ///< set before the link is attached
  bool lends_to_peer_ = false;       ///< set before the link is attached
  control_hook on_control_;
  closed_hook on_closed_;
  mutable std::mutex mtx_;
  std::shared_ptr<connection> conn_;
  std::error_code closed_reason_;
  std::string closed_detail_;
  caf::node_id peer_;
  std::uint32_t peer_pid_ = 0;
  std::map<std::pair<caf::actor_id, std::uint64_t>, pending_request> pending_;
};

} // namespace proctor::internal
