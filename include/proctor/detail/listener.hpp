#pragma once

// The internals behind listener.hpp that its templates need; not API.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proctor/pipe.hpp"

namespace proctor {

class runtime;

namespace internal {
class pipe_listener;

std::shared_ptr<pipe_listener> open_pipe_listener(runtime& rt, const std::string& endpoint,
                                                  std::optional<std::string> authkey);
std::shared_ptr<pipe_socket> accept_pipe(pipe_listener& l,
                                         std::optional<std::chrono::milliseconds> timeout);
const std::string& pipe_listener_address(const pipe_listener& l);
void close_pipe_listener(pipe_listener& l);
std::shared_ptr<pipe_socket> client_pipe(runtime& rt, const std::string& endpoint,
                                         std::optional<std::string> authkey,
                                         std::optional<std::chrono::milliseconds> timeout);
} // namespace internal

} // namespace proctor
