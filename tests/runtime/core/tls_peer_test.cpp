// TLS between runtimes, as users turn it on: --proctor.tls-* flags or a
// config file. A member with a certificate from the CA gets through; a
// plain one, a TLS one facing a plain endpoint, or one whose server names
// another host is refused with an error that says so; a node joins its
// master over TLS across two hosts.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/netns.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/test_pki.hpp"

using namespace std::chrono_literals;
using proctor::testing::helper_argv;
using proctor::testing::netns_pair;
using proctor::testing::subprocess;
using proctor::testing::test_pki;

namespace {

constexpr auto limit = 60s;
using strings = std::vector<std::string>;
const strings key{"PROCTOR_AUTHKEY=tls"};

strings operator+(strings a, const strings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Serves an actor "idle" on the loopback; the endpoint it bound.
std::string start_server(subprocess& server) {
  EXPECT_TRUE(server.wait_for_lines(1, limit)) << server.err();
  return server.out_lines().empty() ? std::string{} : server.out_lines().at(0);
}

/// What the connect helper printed: "reply 42" or "error CODE".
std::string ask(const std::string& endpoint, const std::vector<std::string>& flags) {
  subprocess client{helper_argv("connect", strings{endpoint, "idle"} + flags),
                    key};
  client.wait(limit);
  return client.out_lines().empty() ? "nothing: " + client.err() : client.out_lines().at(0);
}

/// The port of "tcp://HOST:PORT".
int port_of(const std::string& endpoint) {
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

/// A raw TCP connection to 127.0.0.1:`port`; -1 if it cannot be made.
int dial(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Whether the peer closed `fd` within `limit` (EOF or a reset).
bool closed_by_peer(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1)
    return false;
  char byte;
  auto n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
  while (n > 0) // an alert first, then the end
    n = ::recv(fd, &byte, 1, 0);
  return n <= 0;
}

class tls_peers : public ::testing::Test {
protected:
  test_pki pki_;
  proctor::testing::tls_identity server_ = pki_.issue("server", {"127.0.0.1", "localhost"});
  proctor::testing::tls_identity client_ = pki_.issue("client", {"client.example"});
};

} // namespace

TEST_F(tls_peers, a_member_with_a_certificate_from_the_ca_gets_through) {
  // The server reads its TLS settings from a config file.
  auto config = pki_.authority() + ".ini";
  {
    std::ofstream out{config};
    out << "[proctor]\ntls-certificate=\"" << server_.certificate << "\"\ntls-key=\""
        << server_.private_key << "\"\ntls-ca=\"" << pki_.authority() << "\"\n";
  }
  subprocess server{helper_argv("serve", {"--proctor.config-file=" + config}), key};
  auto endpoint = start_server(server);
  EXPECT_EQ(ask(endpoint, pki_.flags(client_)), "reply 42");
}

TEST_F(tls_peers, a_plain_member_is_told_that_the_endpoint_requires_tls) {
  subprocess server{helper_argv("serve", strings{"tcp://127.0.0.1:0"} + pki_.flags(server_)), key};
  auto endpoint = start_server(server);
  EXPECT_EQ(ask(endpoint, {}), "error tls_required");
}

TEST_F(tls_peers, a_tls_member_facing_a_plain_endpoint_is_told_so) {
  subprocess server{helper_argv("serve"), key};
  auto endpoint = start_server(server);
  EXPECT_EQ(ask(endpoint, pki_.flags(client_)), "error tls_failed");
}

TEST_F(tls_peers, the_server_must_be_the_host_dialled_or_the_name_configured) {
  auto named = pki_.issue("named", {"proctor-master"});
  subprocess server{helper_argv("serve", strings{"tcp://127.0.0.1:0"} + pki_.flags(named)), key};
  auto endpoint = start_server(server);
  EXPECT_EQ(ask(endpoint, pki_.flags(client_)), "error tls_failed");
  EXPECT_EQ(ask(endpoint, pki_.flags(client_) + strings{"--proctor.tls-server-name=proctor-master"}),
            "reply 42");
}

TEST_F(tls_peers, incomplete_or_unusable_tls_settings_stop_the_program_at_once) {
  subprocess partial{helper_argv("serve", {"--proctor.tls-certificate=" + server_.certificate}),
                     key};
  EXPECT_NE(partial.wait(limit), 0);
  EXPECT_NE(partial.err().find("TLS needs all of"), std::string::npos) << partial.err();
  auto flags = pki_.flags(server_);
  flags[1] = "--proctor.tls-key=/nonexistent.key";
  subprocess unusable{helper_argv("serve", flags), key};
  EXPECT_NE(unusable.wait(limit), 0);
  EXPECT_NE(unusable.err().find("cannot load the TLS key /nonexistent.key"), std::string::npos)
    << unusable.err();
  subprocess no_config{helper_argv("serve", {"--proctor.config-file=/nonexistent.ini"}), key};
  EXPECT_NE(no_config.wait(limit), 0);
  EXPECT_NE(no_config.err().find("cannot read the config file"), std::string::npos)
    << no_config.err();
}

TEST_F(tls_peers, a_pipe_listener_over_tcp_is_refused_rather_than_left_in_the_clear) {
  auto pipe_listen = [&](const std::string& where) {
    subprocess p{helper_argv("pipe_listen", strings{where} + pki_.flags(server_)), key};
    p.wait(limit);
    return p.out_lines().empty() ? "nothing: " + p.err() : p.out_lines().at(0);
  };
  EXPECT_EQ(pipe_listen("tcp://127.0.0.1:0"), "error tls_required");
  EXPECT_EQ(pipe_listen("unix:" + pki_.authority() + ".sock"), "listening");
}

TEST_F(tls_peers, a_node_joins_its_master_over_tls_across_two_hosts) {
  if (auto why = netns_pair::unavailable(); !why.empty())
    GTEST_SKIP() << why;
  netns_pair hosts;
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  auto master_id = pki_.issue("master", {hosts.address(0)});
  auto node_id = pki_.issue("node", {hosts.address(1)});
  subprocess master{hosts.in(0, helper_argv("node_master",
                                            strings{"tcp://" + hosts.address(0) + ":0", "1", "basic"}
                                              + pki_.flags(master_id))),
                    key};
  ASSERT_TRUE(master.wait_for_lines(1, limit)) << master.err();
  std::vector<std::string> node{helper_argv("none").at(0),
                                "--proctor.join=" + master.out_lines().at(0),
                                "--proctor.rejoin-for=1000"};
  subprocess joined{hosts.in(1, node + pki_.flags(node_id)), key};
  ASSERT_EQ(master.wait(limit), 0) << master.out() << master.err() << joined.err();
  EXPECT_NE(master.out().find("sum 328350"), std::string::npos) << master.out();
  EXPECT_NE(master.out().find("actor 42"), std::string::npos) << master.out();
  EXPECT_EQ(joined.wait(limit), 1) << joined.err();
}

TEST_F(tls_peers, a_flood_of_half_open_tls_connections_neither_blocks_members_nor_stays) {
  subprocess server{helper_argv("serve", strings{"--proctor.handshake-timeout=1000"}
                                           + pki_.flags(server_)),
                    key};
  auto endpoint = start_server(server);
  auto port = port_of(endpoint);
  // Each sends the start of a TLS record and then nothing: a peer that
  // would hold the handshake open forever.
  const unsigned char start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  std::vector<int> flood;
  for (int i = 0; i < 64; ++i) {
    int fd = dial(port);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, start, sizeof start, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof start));
    flood.push_back(fd);
  }
  // A member still gets through while they hang...
  EXPECT_EQ(ask(endpoint, pki_.flags(client_)), "reply 42");
  // ...and every one of them is closed at the handshake deadline.
  for (int fd : flood) {
    EXPECT_TRUE(closed_by_peer(fd, std::chrono::duration_cast<std::chrono::milliseconds>(limit)));
    ::close(fd);
  }
}
