#include "runtime/pipe/pipe_socket.hpp"

#include "proctor/pipe.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/fd_passing.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <cstring>

namespace proctor::internal {

namespace {

constexpr std::size_t header_size = 4;
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t kept_inbox = 1024 * 1024;

/// Set in a header's length word: one byte follows the header, the number
/// of descriptors that came with the message's first byte.
constexpr std::uint32_t with_descriptors = 1u << 31;

/// Descriptors received ahead of the message that claims them.
constexpr std::size_t max_inbox_fds = 2 * max_passed_fds;

std::uint32_t read_word(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16
         | std::uint32_t{b[3]} << 24;
}

std::uint32_t read_length(const char* p) {
  return read_word(p) & ~with_descriptors;
}

/// The header's size: four bytes, and the descriptor count if there is one.
std::size_t header_of(const char* p) {
  return (read_word(p) & with_descriptors) != 0 ? header_size + 1 : header_size;
}

int remaining_ms(pipe_socket::clock::time_point deadline) {
  using namespace std::chrono;
  auto left = ceil<milliseconds>(deadline - pipe_socket::clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

} // namespace

pipe_socket::pipe_socket(int fd, std::uint32_t max_message)
  : fd_(fd), state_(state::open), max_message_(std::min(max_message, ~with_descriptors)) {
}

pipe_socket::pipe_socket(errc code, std::string detail)
  : fd_(-1), state_(state::broken), code_(code), detail_(std::move(detail)), max_message_(0) {
}

pipe_socket::pipe_socket(opener open, std::uint32_t max_message)
  : open_later_(std::move(open)), fd_(-1), state_(state::deferred),
    max_message_(std::min(max_message, ~with_descriptors)) {
}

pipe_socket::~pipe_socket() {
  if (state_ == state::deferred && open_later_)
    discard(std::move(open_later_));
  if (fd_ >= 0)
    ::close(fd_);
}

void pipe_socket::discard(opener open) {
  auto fetch_and_close = [open = std::move(open)] {
    errc code = errc::ok;
    std::string detail;
    if (int fd = open(code, detail); fd >= 0)
      ::close(fd);
  };
  if (auto* rt = current_runtime())
    rt->run_blocking(std::move(fetch_and_close));
  else
    fetch_and_close();
}

void pipe_socket::open_if_deferred() {
  opener open;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (state_ != state::deferred)
      return;
    if (opening_) {
      opened_.wait(guard, [this] { return state_ != state::deferred; });
      return;
    }
    opening_ = true;
    open = std::move(open_later_);
  }
  auto code = errc::ok;
  std::string detail;
  int fd = open(code, detail);
  std::lock_guard<std::mutex> guard{mtx_};
  if (fd >= 0) {
    fd_ = fd;
    state_ = state::open;
  } else {
    state_ = state::broken;
    code_ = code;
    detail_ = std::move(detail);
  }
  opening_ = false;
  opened_.notify_all();
}

void pipe_socket::throw_unusable() const {
  switch (state_) {
    case state::closed:
      throw error(errc::closed, "proctor: this pipe end is closed");
    case state::moved:
    case state::offered:
      throw error(errc::moved, "proctor: this pipe end was handed to another process");
    default:
      throw error(code_, detail_);
  }
}

int pipe_socket::acquire() {
  open_if_deferred();
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ != state::open)
    throw_unusable();
  ++users_;
  return fd_;
}

int pipe_socket::native() {
  open_if_deferred();
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ != state::open)
    throw_unusable();
  return fd_;
}

int pipe_socket::release_native() {
  open_if_deferred();
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ != state::open || users_ != 0)
    throw_unusable();
  state_ = state::closed;
  return std::exchange(fd_, -1);
}

void pipe_socket::release() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (--users_ == 0 && state_ != state::open && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool pipe_socket::closed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return state_ != state::open && state_ != state::deferred;
}

void pipe_socket::close() {
  std::unique_lock<std::mutex> guard{mtx_};
  if (state_ == state::deferred && !opening_) {
    // Never used here: let the holder go without waiting for it.
    state_ = state::closed;
    auto open = std::move(open_later_);
    guard.unlock();
    discard(std::move(open));
    return;
  }
  guard.unlock();
  open_if_deferred();
  guard.lock();
  if (state_ != state::open)
    return; // an offered end is the hand-over's to finish or close
  state_ = state::closed;
  ::shutdown(fd_, SHUT_RDWR); // this process is the only holder: not moved
  if (users_ == 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

errc pipe_socket::begin_offer(int* spare) {
  open_if_deferred();
  std::lock_guard<std::mutex> guard{mtx_};
  switch (state_) {
    case state::open:
      break;
    case state::closed:
      return errc::closed;
    case state::moved:
    case state::offered:
      return errc::moved;
    default:
      return code_;
  }
  if (spare != nullptr) {
    *spare = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (*spare < 0)
      return errc::connection_closed;
  }
  state_ = state::offered;
  return errc::ok;
}

void pipe_socket::end_offer(bool restore) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ != state::offered)
    return;
  if (restore) {
    state_ = state::open;
    return;
  }
  state_ = state::closed;
  ::shutdown(fd_, SHUT_RDWR);
  if (users_ == 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

errc pipe_socket::hand_over(const std::function<bool(int fd)>& transfer) {
  open_if_deferred();
  // The lock is held across the transfer (a local sendmsg with a timeout) so
  // that close() cannot shut down a socket that another process now holds.
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ == state::closed)
    return errc::closed;
  if (state_ != state::open && state_ != state::offered)
    return errc::moved;
  if (!transfer(fd_))
    return errc::connection_closed;
  state_ = state::moved;
  if (users_ == 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return errc::ok;
}

bool pipe_socket::passes_descriptors() {
  auto known = unix_.load(std::memory_order_relaxed);
  if (known >= 0)
    return known == 1;
  pin use{*this};
  bool is_unix = is_unix_socket(use.fd);
  unix_.store(is_unix ? 1 : 0, std::memory_order_relaxed);
  return is_unix;
}

void pipe_socket::send(std::span<const char> message, std::span<const int> fds) {
  std::lock_guard<std::mutex> sending{send_mtx_};
  pin use{*this};
  if (message.size() > max_message_)
    throw error(errc::frame_too_large,
                "proctor: a pipe message of " + std::to_string(message.size())
                  + " bytes exceeds the maximum frame size ("
                  + std::to_string(max_message_) + ")");
  if (fds.size() > max_passed_fds)
    throw error(errc::bad_argument, "proctor: too many descriptors for one pipe message");
  auto length = static_cast<std::uint32_t>(message.size());
  if (!fds.empty())
    length |= with_descriptors;
  unsigned char header[header_size + 1] = {
    static_cast<unsigned char>(length), static_cast<unsigned char>(length >> 8),
    static_cast<unsigned char>(length >> 16), static_cast<unsigned char>(length >> 24),
    static_cast<unsigned char>(fds.size())};
  iovec parts[2] = {{header, fds.empty() ? header_size : header_size + 1},
                    {const_cast<char*>(message.data()), message.size()}};
  iovec* next = parts;
  std::size_t count = message.empty() ? 1 : 2;
  // The descriptors go with the first byte: the first sendmsg only.
  auto pending_fds = fds;
  while (count > 0) {
    auto n = send_with_fds(use.fd, {next, count}, pending_fds);
    if (n < 0) {
      if (closed())
        throw_unusable();
      if (errno == EPIPE || errno == ECONNRESET)
        throw end_of_pipe("proctor: the other end of the pipe is closed");
      throw error(errc::connection_closed,
                  std::string{"proctor: pipe send failed: "} + std::strerror(errno));
    }
    pending_fds = {};
    auto sent = static_cast<std::size_t>(n);
    while (count > 0 && sent >= next->iov_len) {
      sent -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + sent;
      next->iov_len -= sent;
    }
  }
}

bool pipe_socket::ready_or_descriptor(int& fd) {
  fd = native();
  // A thread inside recv owns the inbox; what it reads is its own.
  std::unique_lock<std::mutex> receiving{recv_mtx_, std::try_to_lock};
  return receiving.owns_lock() && (has_message() || eof_);
}

bool pipe_socket::has_message() const {
  auto have = end_ - begin_;
  if (have < header_size)
    return false;
  auto header = header_of(inbox_.data() + begin_);
  return have >= header && have - header >= read_length(inbox_.data() + begin_);
}

bool pipe_socket::fill(std::optional<clock::time_point> deadline) {
  pin use{*this};
  while (!has_message()) {
    if (eof_)
      return true;
    std::size_t wanted = read_chunk;
    if (end_ - begin_ >= header_size) {
      auto length = read_length(inbox_.data() + begin_);
      if (length > max_message_)
        break_with("proctor: a pipe message announces " + std::to_string(length)
                   + " bytes, over the maximum frame size");
      wanted = std::max(wanted, header_size + 1 + length);
    }
    if (inbox_.size() - begin_ < wanted) {
      if (end_ > begin_)
        std::memmove(inbox_.data(), inbox_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (inbox_.size() < wanted)
        inbox_.resize(wanted);
    }
    if (deadline) {
      pollfd p{use.fd, POLLIN, 0};
      auto ready = ::poll(&p, 1, remaining_ms(*deadline));
      if (ready == 0) {
        if (clock::now() >= *deadline)
          return false;
        continue;
      }
      if (ready < 0)
        continue; // EINTR
    }
    std::vector<int> fds;
    auto n = receive_with_fds(use.fd, {inbox_.data() + end_, inbox_.size() - end_}, fds,
                              max_passed_fds);
    for (int fd : fds)
      inbox_fds_.emplace_back(fd);
    if (n > 0)
      end_ += static_cast<std::size_t>(n);
    else if (n == 0 || errno == ECONNRESET)
      eof_ = true;
    else if (errno == EBADMSG)
      break_with("proctor: more descriptors on the pipe than a message may carry");
    else
      throw error(errc::connection_closed,
                  std::string{"proctor: pipe receive failed: "} + std::strerror(errno));
    if (inbox_fds_.size() > max_inbox_fds)
      break_with("proctor: descriptors on the pipe that no message claims");
  }
  return true;
}

std::vector<char> pipe_socket::recv(std::optional<clock::time_point> deadline) {
  return recv_with_descriptors(deadline).bytes;
}

pipe_socket::message
pipe_socket::recv_with_descriptors(std::optional<clock::time_point> deadline) {
  std::lock_guard<std::mutex> receiving{recv_mtx_};
  if (!fill(deadline))
    throw timeout_error("proctor: no message on the pipe within the timeout");
  if (!has_message()) {
    if (closed())
      throw_unusable(); // closed by another thread while this one waited
    throw end_of_pipe(begin_ == end_
                              ? "proctor: the other end of the pipe is closed"
                              : "proctor: the other end of the pipe closed in the "
                                "middle of a message");
  }
  auto length = read_length(inbox_.data() + begin_);
  auto header = header_of(inbox_.data() + begin_);
  message out;
  if (header > header_size) {
    // Descriptors came with the message's first byte: they are here.
    auto count = static_cast<std::uint8_t>(inbox_[begin_ + header_size]);
    if (count == 0 || count > max_passed_fds || count > inbox_fds_.size())
      break_with("proctor: a pipe message announces " + std::to_string(count)
                 + " descriptors, " + std::to_string(inbox_fds_.size()) + " arrived");
    for (std::size_t i = 0; i < count; ++i) {
      out.fds.push_back(std::move(inbox_fds_.front()));
      inbox_fds_.pop_front();
    }
  }
  auto first = inbox_.begin() + static_cast<std::ptrdiff_t>(begin_ + header);
  out.bytes.assign(first, first + length);
  begin_ += header + length;
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (inbox_.size() > kept_inbox)
      std::vector<char>(read_chunk).swap(inbox_);
  }
  return out;
}

void pipe_socket::break_with(std::string detail) {
  std::lock_guard<std::mutex> guard{mtx_};
  state_ = state::broken;
  code_ = errc::malformed_payload;
  detail_ = std::move(detail);
  inbox_fds_.clear();
  throw error(code_, detail_);
}

bool pipe_socket::poll(clock::time_point deadline) {
  std::lock_guard<std::mutex> receiving{recv_mtx_};
  return fill(deadline);
}

} // namespace proctor::internal
