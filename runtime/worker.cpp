// The runtime's control frames and a worker's life.
#include "runtime/runtime_impl.hpp"

#include <cstdio>
#include <cxxabi.h>
#include <iostream>
#include <typeinfo>

#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <caf/actor_registry.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/exit_reason.hpp>

#include "actors/errors.hpp"
#include "proctor/actor.hpp"
#include "proctor/task.hpp"
#include "transport/log.hpp"

namespace proctor::internal {

namespace {

constexpr const char* spawn_op = "spawn";

template <class... Ts>
std::vector<char> encode(Ts&... xs) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (sink(xs...))
    throw error(errc::malformed_payload, "proctor: cannot encode a control frame");
  return buf;
}

template <class... Ts>
bool decode(std::span<const char> payload, Ts&... xs) {
  caf::binary_deserializer source{nullptr, payload.data(), payload.size()};
  return !source(xs...) && source.remaining() == 0;
}

std::string demangled(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string result = status == 0 && name ? name : type.name();
  std::free(name);
  return result;
}

[[noreturn]] void flush_and_exit(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(code);
}

} // namespace

// -- master side --------------------------------------------------------------

caf::strong_actor_ptr runtime_impl::spawn_in(child_process& child, const std::string& name) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    id = next_request_++;
    spawns_[id] = {};
  }
  std::string op = spawn_op;
  auto actor_name = name;
  auto payload = encode(id, op, actor_name);
  if (auto ec = child.channel->send(frame_kind::request, payload)) {
    std::lock_guard<std::mutex> guard{mtx_};
    spawns_.erase(id);
    throw error(errc::spawn_failed, "proctor: the worker is gone: " + ec.message());
  }
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait(guard, [&] { return spawns_[id].done || child.link_closed; });
  auto reply = std::move(spawns_[id]);
  spawns_.erase(id);
  guard.unlock();
  if (!reply.done)
    throw error(errc::spawn_failed, "proctor: the worker ended before spawning " + name);
  if (reply.code != 0)
    throw error(static_cast<errc>(reply.code), "proctor: " + reply.detail);
  return router_->proxy_for(reply.node, reply.aid);
}

std::error_code runtime_impl::on_master_control(link&, frame_kind kind,
                                                std::span<const char> payload) {
  if (kind != frame_kind::reply)
    return errc::unknown_frame_kind;
  std::uint64_t id = 0;
  pending_spawn reply;
  if (!decode(payload, id, reply.code, reply.detail, reply.node, reply.aid))
    return errc::malformed_payload;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = spawns_.find(id);
  if (i == spawns_.end())
    return {};
  reply.done = true;
  i->second = std::move(reply);
  cv_.notify_all();
  return {};
}

// -- worker side --------------------------------------------------------------

std::error_code runtime_impl::on_worker_control(link& from, frame_kind kind,
                                                std::span<const char> payload) {
  if (kind == frame_kind::run_task) {
    task_order order;
    if (!decode(payload, order.task, process_name, order.args))
      return errc::malformed_payload;
    std::lock_guard<std::mutex> guard{mtx_};
    order_ = std::move(order);
    cv_.notify_all();
    return {};
  }
  if (kind != frame_kind::request)
    return errc::unknown_frame_kind;
  std::uint64_t id = 0;
  std::string op;
  std::string name;
  if (!decode(payload, id, op, name))
    return errc::malformed_payload;
  std::uint8_t code = 0;
  std::string detail;
  caf::node_id node = system_->node();
  caf::actor_id aid = 0;
  auto* entry = find_actor(name);
  if (op != spawn_op) {
    code = static_cast<std::uint8_t>(errc::bad_argument);
    detail = "unknown request " + op;
  } else if (entry == nullptr) {
    code = static_cast<std::uint8_t>(errc::unregistered_actor);
    detail = "no PROCTOR_ACTOR named " + name + " in this binary";
  } else {
    auto actor = entry->make(*system_);
    aid = actor->id();
    system_->registry().put(aid, actor);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++hosted_;
    }
    // The process lives as long as the actors it hosts.
    caf::actor_cast<caf::abstract_actor*>(actor)->attach_functor(
      [this](const caf::error& reason) {
        bool last;
        {
          std::lock_guard<std::mutex> guard{mtx_};
          last = --hosted_ == 0;
          if (last && reason && reason != caf::exit_reason::normal)
            hosted_exit_code_ = 1;
        }
        if (last)
          boost::asio::post(io_, [this] {
            // Let the `down` frames out before the process goes.
            auto timer = std::make_shared<boost::asio::steady_timer>(io_);
            timer->expires_after(std::chrono::milliseconds{50});
            timer->async_wait([this, timer](auto) {
              std::lock_guard<std::mutex> guard{mtx_};
              hosting_done_ = true;
              cv_.notify_all();
            });
          });
      });
  }
  auto reply = encode(id, code, detail, node, aid);
  from.send(frame_kind::reply, reply);
  return {};
}

void runtime_impl::run_worker(int link_fd, pid_t parent) {
  auto channel = std::make_shared<link>(
    *router_,
    [this](link& from, frame_kind kind, std::span<const char> payload) {
      return on_worker_control(from, kind, payload);
    },
    [this](link& l, std::error_code reason, std::string detail) {
      router_->link_down(l, make_caf_error(static_cast<errc>(reason.value()), detail));
      std::lock_guard<std::mutex> guard{mtx_};
      parent_gone_ = true;
      cv_.notify_all();
    });
  router_->set_default_route(channel);
  connection::socket_type sock{io_};
  sock.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), link_fd);
  auto conn = connection::make(std::move(sock), link_settings(), channel);
  channel->attach(conn);
  conn->start();
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait(guard, [this] { return order_ || parent_gone_ || hosting_done_; });
  if (parent_gone_) {
    log(log_level::info, "the parent (pid ", parent, ") is gone; exiting");
    flush_and_exit(1);
  }
  if (hosting_done_)
    flush_and_exit(hosted_exit_code_);
  auto order = std::move(*order_);
  guard.unlock();
  auto* entry = find_task(order.task);
  if (entry == nullptr) {
    std::fprintf(stderr, "proctor: no PROCTOR_TASK named %s in this binary\n",
                 order.task.c_str());
    flush_and_exit(1);
  }
  int code = 1;
  try {
    code = entry->run(order.args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proctor: %s (pid %d): uncaught %s: %s\n", process_name.c_str(),
                 static_cast<int>(::getpid()), demangled(typeid(e)).c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "proctor: %s (pid %d): uncaught exception of unknown type\n",
                 process_name.c_str(), static_cast<int>(::getpid()));
  }
  flush_and_exit(code);
}

} // namespace proctor::internal
