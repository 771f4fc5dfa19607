#include "actors/remote/link.hpp"

#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>

#include "actors/errors.hpp"
#include "actors/remote/router.hpp"
#include "actors/wire/segments.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

link::link(router& owner, control_hook on_control, closed_hook on_closed)
  : owner_(owner), on_control_(std::move(on_control)), on_closed_(std::move(on_closed)) {
}

void link::attach(std::shared_ptr<connection> conn) {
  std::lock_guard<std::mutex> guard{mtx_};
  conn_ = std::move(conn);
}

std::error_code link::send(frame_kind kind, std::span<const char> payload) {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn = conn_;
    if (!conn)
      return closed_reason_ ? closed_reason_ : errc::connection_closed;
  }
  return conn->send(kind, payload);
}

std::error_code link::send(frame_kind kind, std::vector<char>&& payload,
                           std::vector<passed_fd> fds) {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn = conn_;
    if (!conn)
      return closed_reason_ ? closed_reason_ : errc::connection_closed;
  }
  return conn->send(kind, std::move(payload), std::move(fds));
}

bool link::shares_memory_with(const caf::node_id& node) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return conn_ && conn_->passes_descriptors() && peer_ == node;
}

std::uint64_t link::max_shared_size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return conn_ ? conn_->settings().max_shared_size : 0;
}

std::pair<std::error_code, std::string> link::closed_reason() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {closed_reason_, closed_detail_};
}

std::chrono::steady_clock::duration link::heard_ago() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!conn_)
    return std::chrono::steady_clock::duration::max();
  return conn_->heard_ago();
}

caf::node_id link::peer() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return peer_;
}

std::uint32_t link::peer_pid() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return peer_pid_;
}

void link::track_request(const caf::strong_actor_ptr& sender, caf::message_id mid,
                         const caf::node_id& receiver_node) {
  if (!sender)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  pending_[{sender->id(), mid.integer_value()}] = {sender, mid, receiver_node};
}

void link::untrack_request(caf::actor_id sender, caf::message_id request) {
  std::lock_guard<std::mutex> guard{mtx_};
  pending_.erase({sender, request.integer_value()});
}

void link::fail_requests(const caf::node_id& node, const caf::error& reason) {
  std::vector<pending_request> failed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = pending_.begin(); i != pending_.end();) {
      if (!node || i->second.receiver_node == node) {
        failed.push_back(std::move(i->second));
        i = pending_.erase(i);
      } else {
        ++i;
      }
    }
  }
  for (auto& request : failed)
    request.sender->enqueue(caf::make_mailbox_element(nullptr,
                                                      request.mid.response_id(), {},
                                                      caf::make_message(reason)),
                            nullptr);
}

void link::close(std::error_code reason, std::string detail) {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn = conn_;
  }
  if (conn)
    conn->close(reason, std::move(detail));
}

void link::close_when_drained(std::error_code reason, std::string detail) {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn = conn_;
  }
  if (conn)
    conn->close_when_drained(reason, std::move(detail));
}

std::size_t link::queued_bytes() const {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn = conn_;
  }
  return conn ? conn->queued_bytes() : 0;
}

bool link::flush(std::chrono::steady_clock::time_point deadline) {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn = conn_;
  }
  return !conn || conn->flush(deadline);
}

std::error_code link::on_established(connection&, const peer_info& peer,
                                     std::string& detail) {
  caf::node_id node;
  if (!router::decode_node(peer.node, node) || !node) {
    detail = "the peer's hello carries no valid node id";
    return errc::malformed_payload;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    peer_ = node;
    peer_pid_ = peer.pid;
  }
  return owner_.link_up(shared_from_this(), detail);
}

std::error_code link::on_frame(connection& conn, frame_kind kind,
                               std::span<const char> payload) {
  // Shared memory that came along is there for the values decoded from
  // this frame, on this thread, and nowhere else.
  auto fds = conn.take_descriptors();
  if (fds.empty())
    return dispatch(kind, payload);
  incoming_segments segments{std::move(fds), conn.settings().max_shared_size, loans_.get()};
  source_scope scope{segments};
  return dispatch(kind, payload);
}

std::error_code link::dispatch(frame_kind kind, std::span<const char> payload) {
  switch (kind) {
    case frame_kind::message:
    case frame_kind::monitor:
    case frame_kind::down:
    case frame_kind::node_down:
      return owner_.handle(*this, kind, payload);
    default:
      if (on_control_)
        return on_control_(*this, kind, payload);
      return errc::unknown_frame_kind;
  }
}

void link::on_closed(connection&, std::error_code reason, const std::string& detail) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conn_.reset();
    closed_reason_ = reason ? reason : make_error_code(errc::connection_closed);
    closed_detail_ = detail;
  }
  auto self = shared_from_this();
  if (on_closed_)
    on_closed_(*this, reason, detail);
  else
    owner_.link_down(*this, make_caf_error(static_cast<errc>(reason.value()), detail));
}

} // namespace proctor::internal
