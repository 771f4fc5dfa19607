#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <sys/types.h>
#include <sys/uio.h>

namespace proctor::internal {

/// The most descriptors one message may carry, either way.
constexpr std::size_t max_passed_fds = 16;

/// True if `fd` is a Unix domain socket, over which descriptors can pass.
bool is_unix_socket(int fd) noexcept;

/// Sends `data` over the Unix socket `socket` with `fds` attached to its
/// first byte (SCM_RIGHTS; at most max_passed_fds). Returns the bytes the
/// kernel took (the rest is the caller's to send plainly), or -1 with errno.
/// EINTR is retried; SIGPIPE is never raised.
ssize_t send_with_fds(int socket, std::span<const iovec> data, std::span<const int> fds) noexcept;

/// Receives into `data` from the Unix socket `socket` and appends the
/// descriptors that came with it to `fds`, close-on-exec. Returns the bytes
/// received, 0 at the end of the stream, or -1 with errno (EINTR retried).
/// More than `max_fds` descriptors, or a control message the kernel cut
/// (MSG_CTRUNC), is a peer not keeping the protocol: every descriptor of
/// the message is closed at once, none is appended, and -1 is returned with
/// errno EBADMSG. A peer can make this process hold no descriptor it did
/// not ask for.
ssize_t receive_with_fds(int socket, std::span<char> data, std::vector<int>& fds,
                         std::size_t max_fds) noexcept;

} // namespace proctor::internal
