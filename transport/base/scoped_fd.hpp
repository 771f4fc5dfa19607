#pragma once

#include <unistd.h>

namespace proctor::internal {

/// Owns a descriptor and closes it when the scope ends, unless released.
class scoped_fd {
public:
  explicit scoped_fd(int fd = -1) noexcept : fd_(fd) {
  }
  scoped_fd(scoped_fd&& other) noexcept : fd_(other.release()) {
  }
  scoped_fd& operator=(scoped_fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~scoped_fd() {
    reset();
  }

  int get() const noexcept {
    return fd_;
  }
  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }
  /// Gives the descriptor up without closing it.
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_;
};

} // namespace proctor::internal
