#include "transport/endpoint.hpp"

#include <charconv>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>

namespace proctor::internal {

namespace {

constexpr std::string_view unix_prefix = "unix:";
constexpr std::string_view abstract_prefix = "unix-abstract:";
constexpr std::string_view tcp_prefix = "tcp://";

// sun_path holds 108 bytes; a path needs its terminating NUL, an abstract
// name its leading one.
constexpr std::size_t max_unix_path = sizeof(sockaddr_un::sun_path) - 1;

bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty())
    return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::error_code parse_tcp(std::string_view rest, endpoint& out) {
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size()
        || rest[close + 1] != ':')
      return errc::invalid_endpoint;
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return errc::invalid_endpoint;
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return errc::invalid_endpoint; // a bare IPv6 address needs brackets
  }
  std::uint16_t number = 0;
  if (host.empty() || !parse_port(port, number))
    return errc::invalid_endpoint;
  out = endpoint{};
  out.kind = endpoint::scheme::tcp;
  out.host = std::string{host};
  out.port = number;
  return {};
}

} // namespace

std::string endpoint::to_string() const {
  switch (kind) {
    case scheme::unix_path:
      return std::string{unix_prefix} + path;
    case scheme::unix_abstract:
      return std::string{abstract_prefix} + path;
    case scheme::tcp:
      if (host.find(':') != std::string::npos)
        return "tcp://[" + host + "]:" + std::to_string(port);
      return "tcp://" + host + ":" + std::to_string(port);
  }
  return {};
}

std::error_code parse_endpoint(std::string_view text, endpoint& out) {
  auto unix_form = [&](std::string_view rest, endpoint::scheme kind) {
    if (rest.empty() || rest.size() > max_unix_path
        || rest.find('\0') != std::string_view::npos)
      return make_error_code(errc::invalid_endpoint);
    out = endpoint{};
    out.kind = kind;
    out.path = std::string{rest};
    return std::error_code{};
  };
  if (text.starts_with(abstract_prefix))
    return unix_form(text.substr(abstract_prefix.size()),
                     endpoint::scheme::unix_abstract);
  if (text.starts_with(unix_prefix))
    return unix_form(text.substr(unix_prefix.size()),
                     endpoint::scheme::unix_path);
  if (text.starts_with(tcp_prefix))
    return parse_tcp(text.substr(tcp_prefix.size()), out);
  return errc::invalid_endpoint;
}

boost::asio::generic::stream_protocol::endpoint
unix_socket_address(const endpoint& ep) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::size_t offset = ep.kind == endpoint::scheme::unix_abstract ? 1 : 0;
  std::memcpy(addr.sun_path + offset, ep.path.data(), ep.path.size());
  auto length = offsetof(sockaddr_un, sun_path) + offset + ep.path.size()
                + (offset == 0 ? 1 : 0);
  return {&addr, length, 0};
}

} // namespace proctor::internal
