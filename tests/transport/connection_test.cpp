#include "transport/connection.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "tests/support/connection_fixture.hpp"
#include "transport/frame.hpp"

using namespace proctor::internal;
using namespace std::chrono_literals;
using proctor::errc;
using namespace proctor::testing;

class connection_test : public proctor::testing::connection_fixture {};

TEST_F(connection_test, handshake_with_the_same_key_succeeds_both_ways) {
  auto [a, b] = make_pair(settings_with("secret"), settings_with("secret"));
  ASSERT_TRUE(a.rec->wait_established());
  ASSERT_TRUE(b.rec->wait_established());
  EXPECT_EQ(a.rec->peer().pid, static_cast<std::uint32_t>(::getpid()));
  EXPECT_EQ(a.rec->peer().node, (std::vector<char>{'n', '2'}));
  EXPECT_EQ(b.rec->peer().node, (std::vector<char>{'n', '1'}));
}

TEST_F(connection_test, frames_arrive_whole_and_in_order) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  // Queued before the handshake ends: they wait for it instead of failing.
  constexpr int count = 20000;
  for (int i = 0; i < count; ++i) {
    auto text = std::to_string(i);
    ASSERT_FALSE(a.conn->send(frame_kind::message, {text.data(), text.size()}));
  }
  auto frames = b.rec->wait_frames(count);
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(frames[i], std::to_string(i));
}

TEST_F(connection_test, a_frame_of_the_maximum_size_passes_and_one_more_is_refused) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(a.rec->wait_established());
  std::string big(1 << 20, 'x');
  EXPECT_EQ(a.conn->send(frame_kind::message, {big.data(), big.size() + 0}),
            std::error_code{});
  std::string too_big((1 << 20) + 1, 'y');
  EXPECT_EQ(a.conn->send(frame_kind::message, {too_big.data(), too_big.size()}),
            errc::frame_too_large);
  auto frames = b.rec->wait_frames(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].size(), big.size());
  EXPECT_TRUE(a.conn->established());
}

TEST_F(connection_test, wrong_key_is_refused_on_both_sides) {
  auto [a, b] = make_pair(settings_with("right"), settings_with("wrong"));
  auto ra = a.rec->wait_closed();
  auto rb = b.rec->wait_closed();
  EXPECT_TRUE(ra == errc::authentication_failed || ra == errc::peer_refused) << ra.message();
  EXPECT_TRUE(rb == errc::authentication_failed || rb == errc::peer_refused) << rb.message();
  EXPECT_FALSE(a.rec->wait_established());
}

TEST_F(connection_test, a_peer_from_another_binary_is_refused) {
  auto [a, b] = make_pair(settings_with("k", 1), settings_with("k", 2));
  EXPECT_EQ(a.rec->wait_closed(), errc::fingerprint_mismatch);
  EXPECT_EQ(b.rec->wait_closed(), errc::fingerprint_mismatch);
  EXPECT_NE(a.rec->detail().find("another binary"), std::string::npos);
}

TEST_F(connection_test, garbage_bytes_close_with_bad_magic) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  raw.write("GET / HTTP/1.1\r\n\r\n", 18);
  EXPECT_EQ(end.rec->wait_closed(), errc::bad_magic);
}

TEST_F(connection_test, a_truncated_header_then_eof_is_reported) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  auto bytes = encode_header({});
  raw.write(bytes.data(), 5);
  raw.shutdown_write();
  EXPECT_EQ(end.rec->wait_closed(), errc::truncated_frame);
}

TEST_F(connection_test, a_truncated_payload_then_eof_is_reported) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  frame_header hdr;
  hdr.kind = frame_kind::hello;
  hdr.length = 100;
  raw.write_header(hdr);
  raw.write("0123456789", 10);
  raw.shutdown_write();
  EXPECT_EQ(end.rec->wait_closed(), errc::truncated_frame);
}

TEST_F(connection_test, a_length_over_the_limit_closes_without_allocating_it) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  frame_header hdr;
  hdr.kind = frame_kind::hello;
  hdr.length = 0xfffffff0; // a 4 GiB allocation would fail loudly under ASan
  raw.write_header(hdr);
  EXPECT_EQ(end.rec->wait_closed(), errc::frame_too_large);
}

TEST_F(connection_test, a_large_frame_before_the_handshake_is_refused) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  frame_header hdr;
  hdr.kind = frame_kind::hello;
  hdr.length = 64 * 1024; // under max_frame_size, over the handshake limit
  raw.write_header(hdr);
  EXPECT_EQ(end.rec->wait_closed(), errc::frame_too_large);
}

TEST_F(connection_test, a_wrong_version_is_refused) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  auto bytes = encode_header({});
  bytes[4] = std::byte{protocol_version + 1};
  raw.write(bytes.data(), bytes.size());
  EXPECT_EQ(end.rec->wait_closed(), errc::unsupported_version);
}

TEST_F(connection_test, an_unknown_kind_is_refused) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  auto bytes = encode_header({});
  bytes[5] = std::byte{200};
  raw.write(bytes.data(), bytes.size());
  EXPECT_EQ(end.rec->wait_closed(), errc::unknown_frame_kind);
}

TEST_F(connection_test, a_message_before_the_handshake_is_refused) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  frame_header hdr;
  hdr.kind = frame_kind::message;
  hdr.length = 3;
  raw.write_header(hdr);
  raw.write("abc", 3);
  EXPECT_EQ(end.rec->wait_closed(), errc::authentication_failed);
  EXPECT_FALSE(end.rec->wait_established());
}

TEST_F(connection_test, a_malformed_hello_is_refused) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  frame_header hdr;
  hdr.kind = frame_kind::hello;
  hdr.length = 4;
  raw.write_header(hdr);
  raw.write("\xff\xff\xff\xff", 4);
  EXPECT_EQ(end.rec->wait_closed(), errc::malformed_payload);
}

TEST_F(connection_test, a_peer_that_says_nothing_is_dropped_after_the_timeout) {
  raw_peer raw;
  auto end = make_raw(raw, settings_with("k"));
  EXPECT_EQ(end.rec->wait_closed(), errc::handshake_timeout);
}

TEST_F(connection_test, garbage_after_the_handshake_closes_only_that_connection) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  int injector = ::dup(fds[0]);
  auto a = make_end(fds[0], settings_with("k"));
  auto b = make_end(fds[1], acceptor(settings_with("k")));
  auto [c, d] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(b.rec->wait_established());
  ASSERT_TRUE(a.rec->wait_established());
  ASSERT_EQ(::write(injector, "garbage-garbage", 15), 15);
  ::close(injector);
  EXPECT_EQ(b.rec->wait_closed(), errc::bad_magic);
  // The other connection on the same io thread keeps serving.
  ASSERT_FALSE(c.conn->send(frame_kind::message, {"still here", 10}));
  auto frames = d.rec->wait_frames(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "still here");
}

TEST_F(connection_test, a_payload_the_layer_above_rejects_closes_the_connection) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_FALSE(a.conn->send(frame_kind::reply, {"x", 1}));
  EXPECT_EQ(b.rec->wait_closed(), errc::malformed_payload);
  EXPECT_EQ(a.rec->wait_closed(), errc::peer_refused);
}

TEST_F(connection_test, send_after_close_fails_cleanly) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(a.rec->wait_established());
  b.conn->close(errc::connection_closed, "test");
  EXPECT_EQ(a.rec->wait_closed(), errc::connection_closed);
  EXPECT_EQ(a.conn->send(frame_kind::message, {"x", 1}), errc::connection_closed);
}

TEST_F(connection_test, a_heartbeat_that_is_not_four_bytes_closes_the_connection) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(a.rec->wait_established());
  ASSERT_FALSE(a.conn->send(frame_kind::heartbeat, {"xyz", 3}));
  EXPECT_EQ(b.rec->wait_closed(), errc::malformed_payload);
}

TEST_F(connection_test, a_peer_without_heartbeats_is_not_expected_to_send_any) {
  // A worker's socketpair has no heartbeats; its peer, with them, is told so
  // by the first heartbeat frame, and keeps the idle connection.
  auto with = settings_with("k");
  with.heartbeat_interval = std::chrono::milliseconds{20};
  with.dead_after = std::chrono::milliseconds{100};
  auto [a, b] = make_pair(with, settings_with("k"));
  ASSERT_TRUE(a.rec->wait_established());
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  EXPECT_TRUE(a.conn->established());
  ASSERT_FALSE(a.conn->send(frame_kind::message, {"x", 1}));
  EXPECT_EQ(b.rec->wait_frames(1).size(), 1u);
}

TEST_F(connection_test, a_close_when_the_peer_ended_first_delivers_what_it_left) {
  // A worker's last messages may still sit in the socket when its exit is
  // noticed. Here they are there before the reader has seen them (its io
  // thread is held), and the sender's end stays open (as a grandchild's
  // inherited descriptor would): the reader takes every whole frame the
  // socket holds, then closes with the reason it was given.
  int injector = -1;
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"), &injector);
  ASSERT_TRUE(a.rec->wait_established());
  ASSERT_TRUE(b.rec->wait_established());
  std::promise<void> release;
  auto held = release.get_future().share();
  boost::asio::post(io_.context(), [held] { held.wait(); });
  constexpr int count = 40;
  const std::string payload(1000, 'p');
  std::vector<char> frames; // in one write: the socket takes it whole
  for (int i = 0; i < count; ++i) {
    frame_header hdr;
    hdr.kind = frame_kind::message;
    hdr.length = static_cast<std::uint32_t>(payload.size());
    auto bytes = encode_header(hdr);
    auto* first = reinterpret_cast<const char*>(bytes.data());
    frames.insert(frames.end(), first, first + bytes.size());
    frames.insert(frames.end(), payload.begin(), payload.end());
  }
  ASSERT_EQ(::write(injector, frames.data(), frames.size()),
            static_cast<ssize_t>(frames.size()));
  b.conn->close_when_drained(errc::connection_closed, "the peer exited");
  release.set_value();
  EXPECT_EQ(b.rec->wait_closed(), errc::connection_closed);
  EXPECT_EQ(b.rec->detail(), "the peer exited");
  EXPECT_EQ(b.rec->wait_frames(count).size(), static_cast<std::size_t>(count));
  ::close(injector);
}

TEST_F(connection_test, a_close_when_drained_of_an_idle_connection_closes_at_once) {
  auto [a, b] = make_pair(settings_with("k"), settings_with("k"));
  ASSERT_TRUE(b.rec->wait_established());
  b.conn->close_when_drained(errc::connection_closed, "the peer exited");
  EXPECT_EQ(b.rec->wait_closed(), errc::connection_closed);
  EXPECT_TRUE(b.rec->wait_frames(0).empty());
  EXPECT_EQ(a.rec->wait_closed(), errc::connection_closed);
}
