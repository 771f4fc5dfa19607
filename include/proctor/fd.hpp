#pragma once

#include "proctor/pipe.hpp"

namespace proctor {

/// An owned file descriptor (an accepted connection, an open file) that can
/// be handed to another process on this host: pass it as a task argument,
/// inside a message or a queue item, and the descriptor itself goes over
/// with SCM_RIGHTS when the receiver decodes it. The sender's copy is then
/// closed (errc::moved). A descriptor nobody took is closed when the
/// process it was passed to has ended. Copies of the handle in one process
/// share the descriptor; the last one closes it.
///
/// As a pool task's argument, the sending process keeps a duplicate until
/// the task's result arrives, so that a task retried after its worker died
/// gets the same descriptor (the same connection) in the next worker. What
/// the dead worker had read from it is gone; what it wrote was sent. Submit
/// with pool::no_retry for work that must not run twice on one connection.
class fd : public internal::pipe_base {
public:
  /// No descriptor.
  fd() = default;

  /// Takes ownership of `descriptor`.
  explicit fd(int descriptor);

  /// The descriptor; throws errc::moved once handed over, errc::closed after
  /// close() or release(), or why it could not be received.
  int get() const {
    return native_fd();
  }

  /// Gives the descriptor up: the caller owns it and must close it.
  int release() {
    return release_fd();
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, fd& x) {
    return inspect_end(f, x);
  }
};

} // namespace proctor
