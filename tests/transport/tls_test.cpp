// TLS under proctor's frames: both sides prove their certificate, the
// proctor handshake still runs inside, and every way to get it wrong closes
// the connection with an error that says what was wrong.
#include "transport/tls.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/connection_fixture.hpp"
#include "tests/support/test_pki.hpp"

using namespace proctor::testing;
using proctor::errc;
using proctor::internal::tls_context;
using proctor::internal::tls_files;

namespace {

std::shared_ptr<const tls_context> context_for(const tls_identity& who,
                                               const std::string& authority) {
  std::string detail;
  auto ctx = tls_context::load({who.certificate, who.private_key, authority, ""}, detail);
  EXPECT_TRUE(ctx) << detail;
  return ctx;
}

class tls_connection : public connection_fixture {
protected:
  test_pki pki_;
  tls_identity server_ = pki_.issue("server", {"localhost"});
  tls_identity client_ = pki_.issue("client", {"client.example"});

  /// Settings of a side that dials "localhost" (as initiator) with TLS.
  connection_settings with_tls(connection_settings s, const tls_identity& who,
                               const std::string& authority = {}) {
    s.tls = context_for(who, authority.empty() ? pki_.authority() : authority);
    s.tls_peer_host = "localhost";
    return s;
  }
};

} // namespace

TEST_F(tls_connection, frames_from_many_threads_arrive_whole_and_in_order) {
  auto [a, b] = make_pair(with_tls(settings_with("k"), client_),
                          with_tls(settings_with("k"), server_));
  ASSERT_TRUE(a.rec->wait_established()) << a.rec->detail();
  ASSERT_TRUE(b.rec->wait_established()) << b.rec->detail();
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([&, t, conn = a.conn] {
      for (int i = 0; i < per_thread; ++i) {
        // Every 50th frame spans several TLS records.
        auto text = std::to_string(t) + ":" + std::to_string(i) + ":";
        text.resize(text.size() + (i % 50 == 0 ? 100000 : 10), 'x');
        ASSERT_FALSE(conn->send(frame_kind::message, {text.data(), text.size()}));
      }
    });
  for (auto& s : senders)
    s.join();
  auto frames = b.rec->wait_frames(threads * per_thread);
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(threads * per_thread));
  std::vector<int> next(threads, 0);
  for (const auto& f : frames) {
    auto t = std::stoi(f.substr(0, f.find(':')));
    auto rest = f.substr(f.find(':') + 1);
    auto i = std::stoi(rest.substr(0, rest.find(':')));
    ASSERT_EQ(i, next[t]++) << "thread " << t;
    ASSERT_EQ(f.size(), f.find(':', f.find(':') + 1) + 1 + (i % 50 == 0 ? 100000 : 10));
  }
  // And back.
  std::string reply = "pong";
  ASSERT_FALSE(b.conn->send(frame_kind::message, {reply.data(), reply.size()}));
  auto back = a.rec->wait_frames(1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], "pong");
}

TEST_F(tls_connection, a_plain_peer_is_told_that_tls_is_required) {
  auto [a, b] = make_pair(settings_with("k"), with_tls(settings_with("k"), server_));
  EXPECT_EQ(a.rec->wait_closed(), errc::tls_required) << a.rec->detail();
  EXPECT_NE(a.rec->detail().find("requires"), std::string::npos) << a.rec->detail();
  EXPECT_EQ(b.rec->wait_closed(), errc::tls_required) << b.rec->detail();
}

TEST_F(tls_connection, a_tls_peer_facing_a_plain_endpoint_says_so) {
  auto [a, b] = make_pair(with_tls(settings_with("k"), client_), settings_with("k"));
  EXPECT_EQ(a.rec->wait_closed(), errc::tls_failed) << a.rec->detail();
  EXPECT_NE(a.rec->detail().find("does not use TLS"), std::string::npos) << a.rec->detail();
  EXPECT_TRUE(b.rec->wait_closed()); // the TLS hello is no proctor frame
}

TEST_F(tls_connection, a_certificate_from_another_ca_is_refused_both_ways) {
  test_pki rogue{"rogue CA"};
  auto impostor = rogue.issue("impostor", {"localhost"});
  {
    // A client whose certificate our CA did not sign.
    auto [a, b] = make_pair(with_tls(settings_with("k"), impostor),
                            with_tls(settings_with("k"), server_));
    EXPECT_EQ(b.rec->wait_closed(), errc::tls_failed) << b.rec->detail();
    EXPECT_EQ(a.rec->wait_closed(), errc::tls_failed) << a.rec->detail();
    EXPECT_FALSE(b.rec->wait_established());
  }
  {
    // A server whose certificate our CA did not sign.
    auto [a, b] = make_pair(with_tls(settings_with("k"), client_),
                            with_tls(settings_with("k"), impostor));
    EXPECT_EQ(a.rec->wait_closed(), errc::tls_failed) << a.rec->detail();
    EXPECT_NE(a.rec->detail().find("not accepted"), std::string::npos) << a.rec->detail();
    EXPECT_EQ(b.rec->wait_closed(), errc::tls_failed) << b.rec->detail();
  }
}

TEST_F(tls_connection, a_server_certificate_for_another_host_is_refused) {
  auto initiator = with_tls(settings_with("k"), client_);
  initiator.tls_peer_host = "127.0.0.1"; // the certificate names localhost only
  auto [a, b] = make_pair(initiator, with_tls(settings_with("k"), server_));
  EXPECT_EQ(a.rec->wait_closed(), errc::tls_failed) << a.rec->detail();
  EXPECT_NE(a.rec->detail().find("mismatch"), std::string::npos) << a.rec->detail();
  EXPECT_EQ(b.rec->wait_closed(), errc::tls_failed) << b.rec->detail();
}

TEST_F(tls_connection, the_authkey_is_still_checked_inside_tls) {
  auto [a, b] = make_pair(with_tls(settings_with("one"), client_),
                          with_tls(settings_with("two"), server_));
  EXPECT_EQ(b.rec->wait_closed(), errc::authentication_failed) << b.rec->detail();
  auto reason = a.rec->wait_closed();
  EXPECT_TRUE(reason == errc::authentication_failed || reason == errc::peer_refused)
    << reason.message() << ": " << a.rec->detail();
}

TEST_F(tls_connection, garbage_inside_tls_closes_with_a_tls_error) {
  raw_peer raw;
  auto b = make_raw(raw, with_tls(settings_with("k"), server_));
  // A TLS record header (handshake, TLS 1.0) announcing a record of nonsense.
  const unsigned char record[] = {0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
  raw.write(record, sizeof record);
  EXPECT_EQ(b.rec->wait_closed(), errc::tls_failed) << b.rec->detail();
}

TEST(tls_context, unusable_files_are_refused_with_the_reason) {
  test_pki pki;
  auto one = pki.issue("one", {"localhost"});
  auto two = pki.issue("two", {"localhost"});
  std::string detail;
  EXPECT_FALSE(tls_context::load({"/nonexistent.pem", one.private_key, pki.authority(), ""},
                                 detail));
  EXPECT_NE(detail.find("certificate /nonexistent.pem"), std::string::npos) << detail;
  EXPECT_FALSE(tls_context::load({one.certificate, two.private_key, pki.authority(), ""},
                                 detail));
  EXPECT_NE(detail.find("does not match"), std::string::npos) << detail;
  EXPECT_FALSE(tls_context::load({one.certificate, one.private_key, "/nonexistent.pem", ""},
                                 detail));
  EXPECT_NE(detail.find("CA /nonexistent.pem"), std::string::npos) << detail;
  EXPECT_TRUE(tls_context::load({one.certificate, one.private_key, pki.authority(), ""},
                                detail))
    << detail;
}

TEST_F(tls_connection, a_handshake_message_too_large_is_refused_before_it_arrives) {
  raw_peer raw;
  auto b = make_raw(raw, with_tls(settings_with("k"), server_));
  // A ClientHello announcing 16 MiB, then records of it: the server must
  // refuse at the announcement, not buffer what follows.
  std::vector<unsigned char> record(5 + 16384, 'x');
  record[0] = 0x16;
  record[1] = 0x03;
  record[2] = 0x01;
  record[3] = 0x40; // 16384 bytes
  record[4] = 0x00;
  record[5] = 0x01; // ClientHello
  record[6] = record[7] = record[8] = 0xff;
  // (Without waiting for room: a server that stopped reading without
  // closing fails the test rather than hanging it.)
  for (int i = 0; i < 64; ++i) {
    auto n = ::send(raw.fd, record.data(), record.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0)
      break;
    std::fill(record.begin() + 5, record.begin() + 9, 'x');
  }
  EXPECT_EQ(b.rec->wait_closed(), errc::tls_failed) << b.rec->detail();
  EXPECT_NE(b.rec->detail().find("excessive message size"), std::string::npos)
    << b.rec->detail();
  EXPECT_FALSE(b.rec->wait_established());
}
