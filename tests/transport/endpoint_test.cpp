#include "transport/endpoint.hpp"

#include <gtest/gtest.h>

using proctor::internal::endpoint;
using proctor::internal::parse_endpoint;

namespace {

endpoint parsed(std::string_view text) {
  endpoint ep;
  auto ec = parse_endpoint(text, ep);
  EXPECT_FALSE(ec) << text << ": " << ec.message();
  return ep;
}

} // namespace

TEST(endpoint, unix_path) {
  auto ep = parsed("unix:/tmp/proctor.sock");
  EXPECT_EQ(ep.kind, endpoint::scheme::unix_path);
  EXPECT_EQ(ep.path, "/tmp/proctor.sock");
  EXPECT_EQ(ep.to_string(), "unix:/tmp/proctor.sock");
}

TEST(endpoint, unix_abstract) {
  auto ep = parsed("unix-abstract:proctor-42");
  EXPECT_EQ(ep.kind, endpoint::scheme::unix_abstract);
  EXPECT_EQ(ep.path, "proctor-42");
  EXPECT_EQ(ep.to_string(), "unix-abstract:proctor-42");
}

TEST(endpoint, tcp_ipv4_and_names) {
  auto ep = parsed("tcp://127.0.0.1:8080");
  EXPECT_EQ(ep.kind, endpoint::scheme::tcp);
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 8080);
  EXPECT_EQ(parsed("tcp://localhost:0").host, "localhost");
}

TEST(endpoint, tcp_ipv6_needs_brackets) {
  auto ep = parsed("tcp://[::1]:9000");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 9000);
  EXPECT_EQ(ep.to_string(), "tcp://[::1]:9000");
  endpoint out;
  EXPECT_EQ(parse_endpoint("tcp://::1:9000", out), proctor::errc::invalid_endpoint);
}

TEST(endpoint, malformed_forms_are_refused) {
  for (auto text : {"", "unix:", "unix-abstract:", "tcp://", "tcp://host",
                    "tcp://host:", "tcp://:80", "tcp://host:65536",
                    "tcp://host:8x", "tcp://[::1]9000", "udp://host:1",
                    "/tmp/sock"}) {
    endpoint out;
    out.path = "untouched";
    EXPECT_EQ(parse_endpoint(text, out), proctor::errc::invalid_endpoint) << text;
    EXPECT_EQ(out.path, "untouched") << text;
  }
  endpoint out;
  EXPECT_EQ(parse_endpoint("unix:/" + std::string(200, 'x'), out),
            proctor::errc::invalid_endpoint);
}
