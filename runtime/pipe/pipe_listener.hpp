#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "transport/handshake.hpp"

namespace proctor {
class runtime;
} // namespace proctor

namespace proctor::internal {

class listener;
class pipe_socket;

/// The listening side of Listener/Client pipes. The io thread only queues
/// accepted descriptors (at most a few: more are closed at once, so that
/// silent connections cannot pile up); accept() runs each one's handshake
/// on the caller's thread.
class pipe_listener {
public:
  pipe_listener(runtime& rt, const std::string& endpoint, std::optional<std::string> authkey);
  ~pipe_listener();

  /// The next authenticated end; timeout_error if none in `timeout`,
  /// authentication_failed (and the like) for a peer whose handshake fails.
  std::shared_ptr<pipe_socket> accept(std::optional<std::chrono::milliseconds> timeout);

  /// The bound endpoint (the real port for tcp://host:0).
  const std::string& address() const noexcept {
    return address_;
  }

  void close();

private:
  std::shared_ptr<listener> server_;
  std::string address_;
  handshake_keys keys_;
  std::chrono::milliseconds handshake_timeout_;
  std::uint32_t max_message_;

  /// Shared with the io thread's accept hook.
  struct backlog {
    std::mutex mtx;
    std::condition_variable arrived;
    std::deque<int> fds;
    bool closed = false;
  };
  std::shared_ptr<backlog> backlog_ = std::make_shared<backlog>();
};

} // namespace proctor::internal
