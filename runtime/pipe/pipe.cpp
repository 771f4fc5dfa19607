#include "proctor/fd.hpp"
#include "proctor/pipe.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "proctor/runtime.hpp"
#include "actors/wire/segments.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/pipe/pipe_broker.hpp"
#include "runtime/pipe/pipe_socket.hpp"
#include "transport/base/sealed_segment.hpp"
#include "transport/frame.hpp"

namespace proctor::internal {

namespace {

thread_local offer_collector* innermost_collector = nullptr;

/// Offers made for one task; withdrawn when the task no longer needs them.
struct offers_in_transit {
  std::weak_ptr<pipe_broker> broker;
  std::vector<std::uint64_t> ids;

  ~offers_in_transit() {
    if (auto b = broker.lock())
      for (auto id : ids)
        b->withdraw(id);
  }
};

std::uint32_t max_message() {
  auto* rt = current_runtime();
  return rt != nullptr ? rt->max_frame_size() : default_max_frame_size;
}

std::uint64_t max_shared() {
  auto* rt = current_runtime();
  return rt != nullptr ? rt->max_shared_size() : default_max_shared_size;
}

} // namespace

offer_collector::offer_collector(claims mode) : mode_(mode), outer_(innermost_collector) {
  innermost_collector = this;
}

offer_collector::~offer_collector() {
  innermost_collector = outer_;
  // Not taken: encoding failed, nothing was sent, so the ends stay here.
  if (auto* rt = current_runtime(); rt != nullptr && !ids_.empty())
    for (auto id : ids_)
      rt->pipes()->withdraw(id, true);
}

std::shared_ptr<void> offer_collector::take() {
  if (ids_.empty())
    return nullptr;
  auto* rt = current_runtime();
  auto held = std::make_shared<offers_in_transit>();
  if (rt != nullptr)
    held->broker = rt->pipes();
  held->ids = std::move(ids_);
  return held;
}

void note_offer(std::uint64_t id) {
  if (innermost_collector != nullptr)
    innermost_collector->ids_.push_back(id);
}

std::pair<std::shared_ptr<pipe_socket>, std::shared_ptr<pipe_socket>>
make_pipe_sockets(runtime& rt) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw error(errc::connect_failed,
                std::string{"proctor: cannot create a pipe: "} + std::strerror(errno));
  auto limit = internal::impl_of(rt).max_frame_size();
  return {std::make_shared<pipe_socket>(fds[0], limit),
          std::make_shared<pipe_socket>(fds[1], limit)};
}

pipe_socket& pipe_base::socket() const {
  if (!socket_)
    throw error(errc::invalid_state, "proctor: an invalid pipe handle was used");
  return *socket_;
}

void pipe_base::close() {
  socket().close();
}

bool pipe_base::closed() const {
  return socket().closed();
}

bool pipe_base::shares_memory() const {
  return socket().passes_descriptors();
}

void pipe_base::send_bytes(const std::vector<char>& bytes, const segment_refs& shared) {
  std::vector<int> fds;
  for (auto& segment : shared)
    fds.push_back(segment->fd());
  socket().send(bytes, fds);
}

pipe_base::received pipe_base::recv_message(std::optional<std::chrono::milliseconds> timeout) {
  std::optional<pipe_socket::clock::time_point> deadline;
  if (timeout)
    deadline = pipe_socket::clock::now() + *timeout;
  auto message = socket().recv_with_descriptors(deadline);
  received out{std::move(message.bytes), nullptr};
  if (!message.fds.empty())
    out.shared = std::make_unique<incoming_segments>(std::move(message.fds),
                                                     max_shared());
  return out;
}

bool pipe_base::poll_impl(std::chrono::milliseconds timeout) {
  return socket().poll(pipe_socket::clock::now() + timeout);
}

int pipe_base::native_fd() const {
  return socket().native();
}

int pipe_base::release_fd() {
  return socket().release_native();
}

pipe_ticket pipe_base::offer() const {
  pipe_ticket ticket;
  auto* rt = current_runtime();
  auto why = errc::closed;
  std::string detail;
  if (!socket_) {
    detail = "proctor: an invalid pipe handle was sent";
  } else if (rt == nullptr) {
    detail = "proctor: a pipe end was sent from a process without a runtime";
  } else {
    auto mode = innermost_collector != nullptr ? innermost_collector->mode()
                                               : offer_collector::once;
    why = rt->pipes()->offer(socket_, mode == offer_collector::until_done, ticket);
    if (why == errc::ok) {
      note_offer(ticket.id);
      return ticket;
    }
    detail = why == errc::moved
               ? "proctor: the pipe end was already handed to another process"
               : why == errc::closed ? "proctor: the pipe end was closed before it was sent"
                                     : std::string{"proctor: the pipe end is unusable: "} + to_string(why);
  }
  // A task's or process's arguments fail at the call that binds them; a
  // message (maybe encoded on the io thread) carries the failure instead,
  // and the receiving end reports it at its first use.
  if (innermost_collector != nullptr)
    throw error(why, detail);
  ticket.failure = static_cast<std::uint8_t>(why);
  ticket.detail = std::move(detail);
  return ticket;
}

void pipe_base::claim(const pipe_ticket& ticket) {
  // Decoded on the io thread (inside an actor message), which must not wait
  // up to 5 s for the holder: fetched at once on the thread for blocking
  // work instead, and a first use waits for that.
  auto* rt = current_runtime();
  if (rt != nullptr && ticket.failure == 0 && rt->io().get_executor().running_in_this_thread()) {
    auto deferred = std::make_shared<pipe_socket>(
      [ticket](errc& code, std::string& detail) {
        return pipe_broker::claim_fd(ticket, code, detail);
      },
      max_message());
    rt->run_blocking([weak = std::weak_ptr<pipe_socket>{deferred}] {
      if (auto socket = weak.lock())
        socket->open_if_deferred();
    });
    socket_ = std::move(deferred);
    return;
  }
  socket_ = pipe_broker::claim(ticket, max_message());
}

} // namespace proctor::internal

namespace proctor {

fd::fd(int descriptor)
  : pipe_base(std::make_shared<internal::pipe_socket>(descriptor, internal::max_message())) {
}

} // namespace proctor
