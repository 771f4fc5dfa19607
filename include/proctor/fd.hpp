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
