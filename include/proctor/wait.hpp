#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "proctor/pipe.hpp"
#include "proctor/process.hpp"

namespace proctor {

/// Something proctor::wait() watches: a pipe end (ready once recv() has
/// something to return: a message, or the end of the pipe), a started
/// process (ready once it has ended: its sentinel), or a raw descriptor
/// (ready once readable).
class waitable {
public:
  waitable(const internal::pipe_base& end) : end_(end.socket_) { // NOLINT: implicit
  }
  waitable(const process& p) : fd_(p.sentinel()) { // NOLINT: implicit
  }
  static waitable descriptor(int fd) {
    waitable w;
    w.fd_ = fd;
    return w;
  }

private:
  waitable() = default;
  friend std::vector<std::size_t> wait(const std::vector<waitable>&,
                                       std::optional<std::chrono::milliseconds>);

  std::shared_ptr<internal::pipe_socket> end_;
  int fd_ = -1;
};

/// Python's multiprocessing.connection.wait(): blocks until at least one of
/// `objects` is ready or `timeout` passes; returns the indexes of the ready
/// ones, in order (empty after a timeout). A closed or moved pipe end
/// throws its errc, as Python raises on a closed connection.
std::vector<std::size_t> wait(const std::vector<waitable>& objects,
                              std::optional<std::chrono::milliseconds> timeout = std::nullopt);

} // namespace proctor
