// Control requests between runtimes: "spawn" (parent → worker) and "lookup"
// (any link). A request carries an id; its reply comes back on the same link.
#include "runtime/core/runtime_impl.hpp"

#include <caf/actor_registry.hpp>

#include "runtime/core/codec.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

constexpr const char* spawn_op = "spawn";
constexpr const char* lookup_op = "lookup";

} // namespace

runtime_impl::control_reply runtime_impl::call(link& l, const std::string& op,
                                               const std::string& name,
                                               std::optional<std::chrono::milliseconds> timeout) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    id = next_request_++;
    calls_[id].via = &l;
  }
  auto op_copy = op;
  auto name_copy = name;
  auto payload = encode(id, op_copy, name_copy);
  if (auto ec = l.send(frame_kind::request, payload)) {
    // The link went down before the request left: its reason is the answer.
    // If its close hook has not run yet, it will, and fail this call with
    // that reason (the call is registered already): wait for it below.
    auto [reason, detail] = l.closed_reason();
    if (reason || ec != errc::connection_closed) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        calls_.erase(id);
      }
      if (!reason)
        reason = ec;
      return {true, static_cast<std::uint8_t>(reason.value()),
              detail.empty() ? reason.message() : detail, {}, 0};
    }
  }
  std::unique_lock<std::mutex> guard{mtx_};
  auto done = [&] { return calls_[id].reply.done; };
  if (timeout)
    cv_.wait_for(guard, *timeout, done);
  else
    cv_.wait(guard, done);
  auto reply = std::move(calls_[id].reply);
  calls_.erase(id);
  if (!reply.done)
    return {true, static_cast<std::uint8_t>(errc::timeout),
            op + " " + name + ": no answer in time", {}, 0};
  return reply;
}

void runtime_impl::fail_calls(link& l, errc code, const std::string& detail) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [id, pending] : calls_)
    if (pending.via == &l && !pending.reply.done) {
      pending.reply.done = true;
      pending.reply.code = static_cast<std::uint8_t>(code);
      pending.reply.detail = detail;
    }
  cv_.notify_all();
}

std::error_code runtime_impl::on_reply(std::span<const char> payload) {
  std::uint64_t id = 0;
  control_reply reply;
  if (!decode(payload, id, reply.code, reply.detail, reply.node, reply.aid))
    return errc::malformed_payload;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = calls_.find(id);
  if (i == calls_.end())
    return {}; // its caller gave up waiting
  reply.done = true;
  i->second.reply = std::move(reply);
  cv_.notify_all();
  return {};
}

std::error_code runtime_impl::on_control(link& from, frame_kind kind,
                                         std::span<const char> payload) {
  switch (kind) {
    case frame_kind::reply:
      return on_reply(payload);
    case frame_kind::request:
      return serve_request(from, payload, false);
    default:
      // run_task from anyone but a worker's parent: nothing received runs.
      return errc::unknown_frame_kind;
  }
}

std::error_code runtime_impl::serve_request(link& from, std::span<const char> payload,
                                            bool may_spawn) {
  std::uint64_t id = 0;
  std::string op;
  std::string name;
  if (!decode(payload, id, op, name))
    return errc::malformed_payload;
  control_reply reply;
  if (op == spawn_op && may_spawn) {
    reply = spawn_hosted(name);
  } else if (op == lookup_op) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = published_.find(name); i != published_.end() && i->second) {
      reply.node = i->second->node();
      reply.aid = i->second->id();
    } else {
      reply.code = static_cast<std::uint8_t>(errc::not_published);
      reply.detail = "no actor published as \"" + name + "\"";
    }
  } else {
    reply.code = static_cast<std::uint8_t>(errc::bad_argument);
    reply.detail = "request \"" + op + "\" is not served here";
  }
  auto encoded = encode(id, reply.code, reply.detail, reply.node, reply.aid);
  from.send(frame_kind::reply, encoded);
  return {};
}

caf::strong_actor_ptr runtime_impl::spawn_in(child_process& child, const std::string& name) {
  auto reply = call(*child.channel, spawn_op, name, std::nullopt);
  if (reply.code == static_cast<std::uint8_t>(errc::connection_closed))
    throw error(errc::spawn_failed, "proctor: the worker ended before spawning " + name);
  if (reply.code != 0)
    throw error(static_cast<errc>(reply.code), "proctor: " + reply.detail);
  return router_->proxy_for(reply.node, reply.aid);
}

void runtime_impl::publish(caf::strong_actor_ptr actor, const std::string& name) {
  if (!actor)
    throw error(errc::bad_argument, "proctor: cannot publish an invalid actor handle");
  if (actor->node() == system_->node())
    system_->registry().put(actor->id(), actor);
  std::lock_guard<std::mutex> guard{mtx_};
  published_[name] = std::move(actor);
}

} // namespace proctor::internal
