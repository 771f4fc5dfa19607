#pragma once

#include <chrono>
#include <string>
#include <system_error>

#include "transport/handshake.hpp"

namespace proctor::internal {

/// The handshake of a Listener/Client pipe, on a connected blocking socket
/// `fd`, from the calling thread: the runtime's mutual handshake (hellos,
/// then proofs over both hellos, see docs/PROTOCOL.md), with hellos marked
/// as opening a pipe, so that neither a runtime's link nor a pipe of another
/// message type is taken for one. Returns errc::ok, or why it failed (with
/// `detail`); nothing but handshake frames is read.
std::error_code pipe_handshake(int fd, const handshake_keys& keys, handshake_role role,
                               std::chrono::steady_clock::time_point deadline,
                               std::string& detail);

} // namespace proctor::internal
