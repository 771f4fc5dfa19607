// The runtime's control frames and a worker's life.
#include "runtime/core/runtime_impl.hpp"

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

#include "actors/wire/segments.hpp"
#include "actors/errors.hpp"
#include "actors/wire/codec.hpp"
#include "runtime/queue/queue_feeder.hpp"
#include "proctor/actor.hpp"
#include "proctor/task.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

std::string demangled(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string result = status == 0 && name ? name : type.name();
  std::free(name);
  return result;
}

namespace {

[[noreturn]] void flush_and_exit(int code) {
  if (auto* rt = current_runtime())
    rt->flush_links();
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(code);
}

} // namespace

// -- worker side --------------------------------------------------------------

std::error_code runtime_impl::on_worker_control(link& from, frame_kind kind,
                                                std::span<const char> payload) {
  switch (kind) {
    case frame_kind::run_task: {
      task_order order;
      if (!decode(payload, order.task, process_name, order.args, parent_name))
        return errc::malformed_payload;
      std::lock_guard<std::mutex> guard{mtx_};
      order_ = std::move(order);
      cv_.notify_all();
      return {};
    }
    case frame_kind::request:
      return served_.on_request(from, payload);
    case frame_kind::reply:
      return requests_.on_reply(from, payload, take_frame_descriptors());
    default:
      return errc::unknown_frame_kind;
  }
}

caf::expected<actor_address> runtime_impl::spawn_hosted(const std::string& name,
                                                        const std::string& args) {
  auto* entry = find_actor(name);
  if (entry == nullptr)
    return make_caf_error(errc::unregistered_actor,
                          "no PROCTOR_ACTOR named " + name + " in this binary");
  caf::strong_actor_ptr actor;
  try {
    actor = entry->make(*system_, args);
  } catch (const error& e) {
    return make_caf_error(e.code(), e.what());
  }
  actor_address reply{system_->node(), actor->id()};
  system_->registry().put(reply.id, actor);
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
  return reply;
}

bool runtime_impl::shares_memory_with(const caf::node_id& node) {
  if (node == system().node())
    return true;
  auto direct = router_->link_to(node);
  return direct && direct->shares_memory_with(node);
}

void runtime_impl::flush_links() {
  // Messages a target sent just before returning (a queue's ack, a reply)
  // must not die with the process, nor puts still in a feeder's buffer,
  // nor acks still in the batcher.
  drain_feeders();
  send_acks();
  // No deadline while bytes move: a loaded machine may take seconds to take
  // a large backlog, and cutting it short would lose puts in silence. A peer
  // that takes nothing for `stall` (stopped, wedged) is given up, loudly.
  constexpr auto stall = std::chrono::seconds{30};
  for (auto& l : router_->links()) {
    auto left = l->queued_bytes();
    auto last_progress = std::chrono::steady_clock::now();
    while (!l->flush(std::chrono::steady_clock::now() + std::chrono::milliseconds{500})) {
      auto now_left = l->queued_bytes();
      auto now = std::chrono::steady_clock::now();
      if (now_left < left) {
        left = now_left;
        last_progress = now;
      } else if (now - last_progress >= stall) {
        log("process", log_level::error, "a peer took nothing for ", stall.count(),
            " s; exiting with ", now_left, " bytes of messages to it unsent");
        break;
      }
    }
  }
}

int runtime_impl::run_worker(int link_fd, pid_t parent) {
  auto channel = std::make_shared<link>(
    *router_,
    [this](link& from, frame_kind kind, std::span<const char> payload) {
      return on_worker_control(from, kind, payload);
    },
    [this](link& l, std::error_code reason, std::string detail) {
      link_closed(l, reason, detail);
      std::lock_guard<std::mutex> guard{mtx_};
      parent_gone_ = true;
      cv_.notify_all();
    });
  parent_link_ = channel.get();
  channel->lend_to_peer();
  router_->set_default_route(channel);
  connection::socket_type sock{io_};
  sock.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), link_fd);
  auto conn = connection::make(std::move(sock), link_settings(handshake_role::acceptor),
                               channel);
  channel->attach(conn);
  conn->start();
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait(guard, [this] { return order_ || parent_gone_ || hosting_done_; });
  if (parent_gone_) {
    log("process", log_level::info, "the parent (pid ", parent, ") is gone; exiting");
    flush_and_exit(1);
  }
  if (hosting_done_)
    flush_and_exit(hosted_exit_code_);
  auto order = std::move(*order_);
  guard.unlock();
  auto* entry = find_task(order.task);
  if (entry == nullptr) {
    log("process", log_level::error, "no PROCTOR_TASK named ", order.task, " in this binary");
    flush_and_exit(1);
  }
  int code = 1;
  try {
    code = entry->run(order.args);
  } catch (const std::exception& e) {
    log("process", log_level::error, process_name, ": uncaught ", demangled(typeid(e)), ": ",
        e.what());
  } catch (...) {
    log("process", log_level::error, process_name, ": uncaught exception of unknown type");
  }
  return code;
}

} // namespace proctor::internal
