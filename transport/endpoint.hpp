#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/generic/stream_protocol.hpp>

#include "proctor/errc.hpp"

namespace proctor::internal {

/// Where a connection goes, written `unix:/path`, `unix-abstract:name`,
/// `tcp://host:port`, `tcp://[v6-address]:port`.
struct endpoint {
  enum class scheme { unix_path, unix_abstract, tcp };

  scheme kind = scheme::unix_path;
  std::string path; ///< socket path or abstract name, for the unix schemes
  std::string host; ///< host name or address literal, for tcp
  std::uint16_t port = 0;

  /// The canonical text form; parse(to_string()) gives back the same value.
  std::string to_string() const;
};

/// Parses `text`; returns errc::invalid_endpoint with no side effect if it
/// is not one of the forms above.
std::error_code parse_endpoint(std::string_view text, endpoint& out);

/// The socket address of a unix endpoint, in Asio's generic form.
boost::asio::generic::stream_protocol::endpoint
unix_socket_address(const endpoint& ep);

} // namespace proctor::internal
