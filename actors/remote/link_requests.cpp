#include "actors/remote/link_requests.hpp"

#include "actors/remote/link.hpp"
#include "proctor/detail/bounded_deserializer.hpp"

namespace proctor::internal {

namespace {

/// Decodes `xs` from the front of `payload`; the rest is left in `rest`.
template <class... Ts>
bool decode_head(std::span<const char> payload, std::span<const char>& rest, Ts&... xs) {
  bounded_deserializer source{nullptr, payload.data(), payload.size()};
  if (source(xs...))
    return false;
  rest = payload.subspan(payload.size() - source.remaining());
  return true;
}

std::vector<char> encode_reply(std::uint64_t id, errc code, std::string detail,
                               std::span<const char> fields) {
  auto code_byte = static_cast<std::uint8_t>(code);
  auto out = encode(id, code_byte, detail);
  out.insert(out.end(), fields.begin(), fields.end());
  return out;
}

} // namespace

bool decode_reply_head(std::span<const char> payload, reply_head& out) {
  return decode_head(payload, out.fields, out.id, out.code, out.detail);
}

std::vector<char> encode_request(std::uint64_t id, std::string_view kind,
                                 std::span<const char> fields) {
  std::string name{kind};
  auto out = encode(id, name);
  out.insert(out.end(), fields.begin(), fields.end());
  return out;
}

caf::expected<link_requests::raw_reply>
link_requests::call_raw(link& l, std::string_view kind, std::vector<char> fields,
                        std::optional<std::chrono::milliseconds> timeout) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    id = next_id_++;
    pending_[id].via = &l;
  }
  if (auto ec = l.send(frame_kind::request, encode_request(id, kind, fields))) {
    // The link went down before the request left: its reason is the answer.
    // If its close hook has not run yet, it will, and fail this request with
    // that reason (it is registered already): wait for it below.
    auto [reason, detail] = l.closed_reason();
    if (reason || ec != errc::connection_closed) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        pending_.erase(id);
      }
      if (!reason)
        reason = ec;
      return make_caf_error(static_cast<errc>(reason.value()),
                            detail.empty() ? reason.message() : detail);
    }
  }
  std::unique_lock<std::mutex> guard{mtx_};
  auto done = [&] { return pending_[id].done; };
  if (timeout)
    settled_.wait_for(guard, *timeout, done);
  else
    settled_.wait(guard, done);
  auto reply = std::move(pending_[id]);
  pending_.erase(id);
  if (!reply.done)
    return make_caf_error(errc::timeout,
                          "no answer to a " + std::string{kind} + " request in time");
  if (reply.code != errc::ok)
    return make_caf_error(reply.code, std::move(reply.detail));
  return raw_reply{std::move(reply.fields), std::move(reply.fds)};
}

void link_requests::post_raw(link& l, std::string_view kind, std::vector<char> fields) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    id = next_id_++; // never in pending_: its reply is dropped
  }
  (void) l.send(frame_kind::request, encode_request(id, kind, fields));
}

std::error_code link_requests::on_reply(const link& from, std::span<const char> payload,
                                        std::vector<scoped_fd> fds) {
  reply_head head;
  if (!decode_reply_head(payload, head))
    return errc::malformed_payload;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = pending_.find(head.id);
  if (i == pending_.end() || i->second.done || i->second.via != &from)
    return {}; // its caller gave up waiting, or it is not this link's to answer
  auto& p = i->second;
  p.done = true;
  p.code = static_cast<errc>(head.code);
  p.detail = std::move(head.detail);
  p.fields.assign(head.fields.begin(), head.fields.end());
  p.fds = std::move(fds);
  settled_.notify_all();
  return {};
}

void link_requests::fail_all(const link& l, errc reason, const std::string& detail) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [id, p] : pending_)
    if (p.via == &l && !p.done) {
      p.done = true;
      p.code = reason;
      p.detail = detail;
    }
  settled_.notify_all();
}

std::error_code request_server::on_request(link& from, std::span<const char> payload) const {
  std::uint64_t id = 0;
  std::string kind;
  std::span<const char> fields;
  if (!decode_head(payload, fields, id, kind))
    return errc::malformed_payload;
  responder<encoded_reply> respond =
    [weak = from.weak_from_this(), id](caf::expected<encoded_reply> reply) {
      auto to = weak.lock();
      if (!to)
        return;
      if (!reply) {
        auto& err = reply.error();
        to->send(frame_kind::reply,
                 encode_reply(id, static_cast<errc>(err.code()), detail_of(err), {}));
        return;
      }
      auto frame = encode_reply(id, errc::ok, {}, reply->fields);
      if (reply->fds.empty())
        to->send(frame_kind::reply, frame);
      else
        to->send(frame_kind::reply, std::move(frame), std::move(reply->fds));
    };
  if (auto i = handlers_.find(kind); i != handlers_.end())
    i->second(from, fields, std::move(respond));
  else
    respond(make_caf_error(errc::bad_argument, "request \"" + kind + "\" is not served here"));
  return {};
}

} // namespace proctor::internal
