#include "runtime/pipe/pipe_broker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>

#include <openssl/crypto.h>

#include "runtime/pipe/pipe_socket.hpp"
#include "transport/base/fd_passing.hpp"
#include "transport/base/log.hpp"
#include "transport/base/scoped_fd.hpp"
#include "transport/handshake.hpp"

namespace proctor::internal {

namespace {

/// What a claimant sends: the offer it claims and the offer's secret.
struct claim_request {
  std::uint64_t id;
  std::uint64_t token_hi;
  std::uint64_t token_lo;
};

/// The broker's answer: a status (an errc, ok with the descriptor attached).
constexpr std::size_t max_reply = 1;

/// How long either side of a claim may wait for the other.
constexpr int claim_timeout_s = 5;

sockaddr_un abstract_address(const std::string& name, socklen_t& length) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size()); // [0] = 0: abstract
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::uint64_t random_u64() {
  auto bytes = make_nonce();
  std::uint64_t x;
  std::memcpy(&x, bytes.data(), sizeof x);
  return x;
}

bool send_reply(int connection, errc status, int fd) {
  auto code = static_cast<char>(status);
  iovec part{&code, 1};
  return send_with_fds(connection, {&part, 1}, fd >= 0 ? std::span{&fd, 1} : std::span<int>{})
         == 1;
}

std::shared_ptr<pipe_socket> broken(errc code, std::string detail) {
  return std::make_shared<pipe_socket>(code, std::move(detail));
}


} // namespace

const std::string& host_identity() {
  static const std::string id = [] {
    std::ifstream in{"/proc/sys/kernel/random/boot_id"};
    std::string line;
    std::getline(in, line);
    return line;
  }();
  return id;
}

pipe_broker::pipe_broker() {
  auto random = random_u64();
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random));
  name_ = "proctor-pipes-" + std::to_string(::getpid()) + "-" + suffix;
  listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t length = 0;
  auto addr = abstract_address(name_, length);
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), length) != 0
      || ::listen(listener_, 64) != 0) {
    auto reason = std::strerror(errno);
    if (listener_ >= 0)
      ::close(listener_);
    throw error(errc::connect_failed,
                std::string{"proctor: cannot open the pipe hand-over socket: "} + reason);
  }
  wakeup_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread{[this] { serve(); }};
}

pipe_broker::~pipe_broker() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeup_, &one, sizeof one);
  thread_.join();
  for (auto& [id, o] : offers_)
    if (o.spare >= 0)
      ::close(o.spare);
  ::close(wakeup_);
  ::close(listener_);
}

errc pipe_broker::offer(std::shared_ptr<pipe_socket> socket, bool reclaimable,
                        pipe_ticket& ticket) {
  int spare = -1;
  if (auto why = socket->begin_offer(reclaimable ? &spare : nullptr); why != errc::ok)
    return why;
  ticket.host = host_identity();
  ticket.broker = name_;
  ticket.token_hi = random_u64();
  ticket.token_lo = random_u64();
  std::lock_guard<std::mutex> guard{mtx_};
  ticket.id = next_id_++;
  offers_.emplace(ticket.id,
                  offered{ticket.token_hi, ticket.token_lo, std::move(socket), spare});
  return errc::ok;
}

void pipe_broker::withdraw(std::uint64_t id, bool restore) {
  std::shared_ptr<pipe_socket> dropped; // closed outside the lock
  scoped_fd spare;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = offers_.find(id); i != offers_.end()) {
      dropped = std::move(i->second.socket);
      spare.reset(i->second.spare);
      offers_.erase(i);
    }
  }
  if (dropped)
    dropped->end_offer(restore);
}

void pipe_broker::serve() {
  for (;;) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wakeup_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0)
      continue; // EINTR
    if (fds[1].revents != 0)
      return;
    int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0)
      continue;
    scoped_fd guard{connection};
    serve_one(connection);
  }
}

void pipe_broker::serve_one(int connection) {
  set_timeouts(connection, claim_timeout_s);
  ucred peer{};
  socklen_t size = sizeof peer;
  if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0
      || peer.uid != ::geteuid())
    return; // another user's process: no answer at all
  claim_request request{};
  if (::recv(connection, &request, sizeof request, MSG_WAITALL) != sizeof request)
    return;
  std::shared_ptr<pipe_socket> socket;
  scoped_fd again; // a reclaimable offer, claimed before: a duplicate
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = offers_.find(request.id);
    std::uint64_t token[2] = {request.token_hi, request.token_lo};
    if (i != offers_.end()) {
      std::uint64_t expected[2] = {i->second.token_hi, i->second.token_lo};
      if (CRYPTO_memcmp(token, expected, sizeof token) == 0) {
        auto& o = i->second;
        if (o.socket)
          socket = std::move(o.socket);
        else if (o.spare >= 0)
          again.reset(::fcntl(o.spare, F_DUPFD_CLOEXEC, 0));
        if (o.spare < 0)
          offers_.erase(i);
      }
    }
  }
  if (again.get() >= 0) {
    send_reply(connection, errc::ok, again.get());
    return;
  }
  if (!socket) {
    log("pipe", log_level::warning, "pipe end claimed with an unknown or spent ticket");
    send_reply(connection, errc::moved, -1);
    return;
  }
  auto status = socket->hand_over([&](int fd) { return send_reply(connection, errc::ok, fd); });
  if (status != errc::ok) {
    send_reply(connection, status, -1);
    withdraw(request.id); // closed before anyone took it: so for every claim
  }
}

int pipe_broker::claim_fd(const pipe_ticket& ticket, errc& code, std::string& detail) {
  auto fail = [&](errc why, std::string text) {
    code = why;
    detail = std::move(text);
    return -1;
  };
  if (ticket.failure != 0)
    return fail(static_cast<errc>(ticket.failure), ticket.detail);
  if (ticket.host != host_identity())
    return fail(errc::invalid_state,
                "proctor: a pipe end was sent to another host; pipes join "
                "processes of one machine");
  scoped_fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.get() < 0)
    return fail(errc::connect_failed, "proctor: cannot open a socket to take a pipe end");
  set_timeouts(s.get(), claim_timeout_s);
  socklen_t length = 0;
  auto addr = abstract_address(ticket.broker, length);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), length) != 0)
    return fail(errc::owner_gone,
                "proctor: the process that sent this pipe end is gone");
  claim_request request{ticket.id, ticket.token_hi, ticket.token_lo};
  if (::send(s.get(), &request, sizeof request, MSG_NOSIGNAL) != sizeof request)
    return fail(errc::owner_gone,
                "proctor: the process that sent this pipe end did not answer");
  char status = 0;
  std::vector<int> received;
  if (receive_with_fds(s.get(), {&status, max_reply}, received, 1) != 1)
    return fail(errc::owner_gone,
                "proctor: the process that sent this pipe end did not hand it over");
  int fd = received.empty() ? -1 : received.front();
  switch (static_cast<errc>(status)) {
    case errc::ok:
      if (fd >= 0)
        return fd;
      return fail(errc::owner_gone, "proctor: a pipe end arrived without its socket");
    case errc::closed:
      return fail(errc::closed, "proctor: the pipe end was closed before it was delivered");
    default:
      if (fd >= 0)
        ::close(fd);
      return fail(errc::moved,
                  "proctor: the pipe end was already delivered to another process");
  }
}

std::shared_ptr<pipe_socket> pipe_broker::claim(const pipe_ticket& ticket,
                                                std::uint32_t max_message) {
  auto code = errc::ok;
  std::string detail;
  int fd = claim_fd(ticket, code, detail);
  if (fd < 0)
    return broken(code, std::move(detail));
  return std::make_shared<pipe_socket>(fd, max_message);
}

} // namespace proctor::internal
