#include "actors/remote/remote_proxy.hpp"

#include <optional>

#include <caf/binary_serializer.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>

#include "actors/errors.hpp"
#include "actors/remote/link.hpp"
#include "actors/remote/router.hpp"
#include "actors/wire/segments.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

/// From this size on a message's encoding is handed to the connection
/// rather than copied into its buffer.
constexpr std::size_t large_frame = 16 * 1024;

} // namespace

remote_proxy::remote_proxy(caf::actor_config& cfg, router& owner,
                           std::shared_ptr<link> route)
  : caf::actor_proxy(cfg), owner_(owner), route_(std::move(route)) {
}

remote_proxy::~remote_proxy() = default;

void remote_proxy::enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) {
  if (!what)
    return;
  if (!route_) {
    bounce(what, caf::sec::request_receiver_down);
    return;
  }
  thread_local std::vector<char> buf;
  buf.clear();
  auto& element = *what;
  auto receiver_node = node();
  auto receiver_id = id();
  auto content = element.move_content_to_message();
  caf::binary_serializer sink{&owner_.context(), buf};
  // Large proctor::bytes for a process of this host go as shared memory.
  auto segments = frame_sink();
  std::optional<sink_scope> sharing;
  if (route_->shares_memory_with(receiver_node)) {
    segments.may_lend = route_->lends_to_peer();
    segments.max_size = route_->max_shared_size();
    sharing.emplace(segments);
  }
  auto err = sink(receiver_node, receiver_id, element.sender, element.mid, element.stages);
  auto content_at = buf.size();
  if (!err)
    err = sink(content);
  sharing.reset();
  // CAF 0.17 drops the error of a message it cannot encode (a type not
  // registered) and writes nothing, or an empty message, in its place.
  if (!err && !content.empty()
      && (buf.size() == content_at
          || encodes_empty_message({buf.data() + content_at, buf.size() - content_at})))
    err = make_caf_error(errc::malformed_payload,
                         "an element of the message cannot be encoded (a type not registered)");
  if (err) {
    segments.cancel_loans();
    log("actors", log_level::error, "cannot serialize a message to actor ", receiver_id,
        " (register its types with PROCTOR_MESSAGE_TYPE): ",
        owner_.system().render(err));
    bounce(what, err);
    return;
  }
  bool request = element.mid.is_request();
  if (request)
    route_->track_request(element.sender, element.mid, receiver_node);
  auto size = buf.size();
  // A large frame is handed over, not copied again; the buffer regrows.
  auto ec = segments.refs.empty() && size < large_frame
              ? route_->send(frame_kind::message, buf)
              : route_->send(frame_kind::message, std::move(buf), passed_fds(segments.refs));
  buf.clear();
  if (ec) {
    segments.cancel_loans();
    if (request)
      route_->untrack_request(element.sender ? element.sender->id() : 0, element.mid);
    if (ec != errc::frame_too_large) {
      log("actors", log_level::info, "message to actor ", receiver_id, " dropped: ", ec.message());
      bounce(what, caf::sec::request_receiver_down);
      return;
    }
    // The link is fine; this message is not. A request's sender gets the
    // error. A one-way message has nobody to tell, so the actor is taken
    // for unreachable: its monitors get a down with frame_too_large.
    auto why = "a message of " + std::to_string(size)
               + " bytes exceeds the frame limit (--proctor.max-frame-size)";
    log("actors", log_level::warning, "message to actor ", receiver_id, " refused: ", why);
    auto reason = make_caf_error(errc::frame_too_large, why);
    if (request && element.sender)
      // CAF's bounce() answers request_receiver_down whatever the reason.
      element.sender->enqueue(caf::make_mailbox_element(nullptr, element.mid.response_id(),
                                                        {}, caf::make_message(reason)),
                              nullptr);
    else if (!request)
      owner_.proxies().erase(receiver_node, receiver_id, reason);
  }
}

void remote_proxy::kill_proxy(caf::execution_unit* host, caf::error reason) {
  cleanup(std::move(reason), host);
}

} // namespace proctor::internal
