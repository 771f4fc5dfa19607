#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>

#include "actors/errors.hpp"
#include "actors/wire/codec.hpp"
#include "transport/base/scoped_fd.hpp"
#include "transport/connection.hpp"

namespace proctor::internal {

class link;

// Requests between the runtimes at the two ends of a link, answered on the
// link they came on: the one request/response mechanism beneath actor
// messages (which are CAF's own requests, failed the same way when a link
// goes). Control uses it today (spawn an actor in a worker, look up a
// published name); node joins and heartbeats will.
//
// A request type is a struct with an `inspect` overload, a `kind` (its name
// on the wire) and a `reply_type`. On the wire:
//   request frame: uint64 id, string kind, the request's fields
//   reply frame:   uint64 id, uint8 errc, string detail, and for errc 0 the
//                  reply's fields
// Every failure is a caf::error in proctor's category (make_caf_error): the
// server's errc and detail, `timeout`, or the reason the link went down.
//
// Threads: call() blocks its caller, so never the io thread; on_reply(),
// fail_all() and request_server::on_request() run on the io thread, do not
// block, and hold `mtx_` only to settle the table.

/// A reply type that hands over descriptors (shared memory) has these two
/// members beside its encoded fields: `sent`, filled by the server, goes
/// with the reply frame; `received` is what the caller finds. They travel
/// only over a link that passes descriptors: the server checks that first.
template <class Reply>
concept reply_with_descriptors = requires(Reply r) {
  { r.sent } -> std::same_as<std::vector<passed_fd>&>;
  { r.received } -> std::same_as<std::vector<scoped_fd>&>;
};

/// Where an actor lives: what spawn and lookup answer.
struct actor_address {
  caf::node_id node;
  caf::actor_id id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_address& x) {
  return f(x.node, x.id);
}

/// Starts the actor registered with PROCTOR_ACTOR as `name`, with its
/// encoded arguments, in the worker at the other end; served on a worker's
/// link to its parent only.
struct spawn_request {
  static constexpr std::string_view kind = "spawn";
  using reply_type = actor_address;
  std::string name;
  std::string args;
};

/// The actor published as `name` by the runtime at the other end.
struct lookup_request {
  static constexpr std::string_view kind = "lookup";
  using reply_type = actor_address;
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spawn_request& x) {
  return f(x.name, x.args);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lookup_request& x) {
  return f(x.name);
}

/// A reply frame's head; `fields` is what follows it.
struct reply_head {
  std::uint64_t id = 0;
  std::uint8_t code = 0;
  std::string detail;
  std::span<const char> fields;
};

/// Decodes a reply frame's head; false if it does not decode.
bool decode_reply_head(std::span<const char> payload, reply_head& out);

/// Encodes a request frame: its head and `fields`.
std::vector<char> encode_request(std::uint64_t id, std::string_view kind,
                                 std::span<const char> fields);

/// The requests this runtime sent and waits for, by id.
class link_requests {
public:
  /// Sends `request` over `l` and waits for its reply: at most `timeout`,
  /// or, without one, until the reply comes or the link goes.
  template <class Request>
  caf::expected<typename Request::reply_type>
  call(link& l, Request request, std::optional<std::chrono::milliseconds> timeout) {
    auto fields = call_raw(l, Request::kind, encode(request), timeout);
    if (!fields)
      return std::move(fields.error());
    typename Request::reply_type reply;
    if (!decode(fields->fields, reply))
      return make_caf_error(errc::malformed_payload, "the reply to a " + std::string{Request::kind}
                                                       + " request does not decode");
    if constexpr (reply_with_descriptors<typename Request::reply_type>)
      reply.received = std::move(fields->fds);
    return reply;
  }

  /// Sends `request` over `l` without waiting: its reply is dropped. For
  /// orders that must not block their sender (a signal to a node's worker).
  template <class Request>
  void post(link& l, const Request& request) {
    post_raw(l, Request::kind, encode(request));
  }

  /// A reply frame arrived on `from`, with the descriptors that came along;
  /// it is malformed_payload if it does not decode (the link is then
  /// closed). A reply nobody waits for any more, or that names a request
  /// sent over another link (a peer guessing ids), is dropped, and its
  /// descriptors closed.
  std::error_code on_reply(const link& from, std::span<const char> payload,
                           std::vector<scoped_fd> fds = {});

  /// `l` went down: every request waiting on it fails with `reason`.
  void fail_all(const link& l, errc reason, const std::string& detail);

private:
  struct raw_reply {
    std::vector<char> fields;
    std::vector<scoped_fd> fds;
  };

  void post_raw(link& l, std::string_view kind, std::vector<char> fields);
  caf::expected<raw_reply> call_raw(link& l, std::string_view kind,
                                            std::vector<char> fields,
                                            std::optional<std::chrono::milliseconds> timeout);

  struct pending {
    const link* via = nullptr;
    bool done = false;
    errc code = errc::ok;
    std::string detail;
    std::vector<char> fields;
    std::vector<scoped_fd> fds;
  };

  std::mutex mtx_;
  std::condition_variable settled_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, pending> pending_;
};

/// Serves the requests that arrive on links: one handler per kind.
class request_server {
public:
  /// Answers a request, once, from any thread; the answer is dropped if its
  /// link went down meanwhile.
  template <class Reply>
  using responder = std::function<void(caf::expected<Reply>)>;

  /// A reply's encoded fields and the descriptors that go with them.
  struct encoded_reply {
    std::vector<char> fields;
    std::vector<passed_fd> fds;
  };

  /// Serves `Request` with `handler(link& from, Request&)`, which returns
  /// its reply or the caf::error to answer with. Handlers run on the io
  /// thread: they must not block.
  template <class Request, class Handler>
  void serve(Handler handler) {
    serve_async<Request>([handler = std::move(handler)](
                           link& from, Request& request,
                           responder<typename Request::reply_type> respond) {
      respond(handler(from, request));
    });
  }

  /// Serves `Request` with `handler(link& from, Request&, responder)`, which
  /// returns at once (on the io thread) and answers through the responder
  /// when it can: for work that blocks, handed to another thread.
  template <class Request, class Handler>
  void serve_async(Handler handler) {
    handlers_[std::string{Request::kind}] =
      [handler = std::move(handler)](link& from, std::span<const char> fields,
                                     responder<encoded_reply> respond) {
      Request request;
      if (!decode(fields, request)) {
        respond(make_caf_error(errc::malformed_payload,
                               "a " + std::string{Request::kind} + " request does not decode"));
        return;
      }
      handler(from, request,
              [respond = std::move(respond)](caf::expected<typename Request::reply_type> reply) {
                if (!reply) {
                  respond(std::move(reply.error()));
                  return;
                }
                encoded_reply out{encode(*reply), {}};
                if constexpr (reply_with_descriptors<typename Request::reply_type>)
                  out.fds = std::move(reply->sent);
                respond(std::move(out));
              });
    };
  }

  /// A request frame from `from`: answers it on `from`. A head that does not
  /// decode is malformed_payload (the link is then closed); an unknown kind,
  /// or a body that does not decode, is answered with an error.
  std::error_code on_request(link& from, std::span<const char> payload) const;

private:
  using handler_type =
    std::function<void(link&, std::span<const char>, responder<encoded_reply>)>;
  std::map<std::string, handler_type, std::less<>> handlers_;
};

} // namespace proctor::internal
