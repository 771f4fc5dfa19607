// What a peer without the authkey can do to a listening runtime, tried with
// frames written by hand: reflect, replay, turn proofs around, speak after the
// handshake, claim a live node, or hold connections open in silence; and
// what one with the key may ask. After each, the server still serves a
// client that knows the key.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "actors/registry/registry_requests.hpp"
#include "actors/remote/link_requests.hpp"
#include "actors/shared/block_requests.hpp"
#include "proctor/errc.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/wire_peer.hpp"

using namespace std::chrono_literals;
using namespace proctor::internal;
using proctor::errc;
using proctor::testing::ending;
using proctor::testing::legit_client;
using proctor::testing::subprocess;
using proctor::testing::wire_peer;

namespace {

constexpr auto limit = 20s;
const std::string authkey = "the-shared-authkey";

constexpr std::uint8_t code_of(errc x) {
  return static_cast<std::uint8_t>(x);
}

/// A separate master, with a key the test knows, listening on the loopback.
class handshake_attack : public ::testing::Test {
protected:
  void SetUp() override {
    server_ = std::make_unique<subprocess>(proctor::testing::helper_argv("serve"),
                                           std::vector<std::string>{
                                             "PROCTOR_AUTHKEY=" + authkey});
    ASSERT_TRUE(server_->wait_for_lines(1, limit)) << server_->err();
    port_ = proctor::testing::port_of(server_->out_lines().at(0));
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    // The server survived the attack and serves a client that knows the key.
    EXPECT_TRUE(serves_a_legitimate_client()) << server_->err();
  }

  bool serves_a_legitimate_client() {
    wire_peer peer{port_};
    legit_client client{authkey};
    return client.handshake_and_lookup(peer, "idle") == 0;
  }

  std::uint16_t port_ = 0;
  std::unique_ptr<subprocess> server_;
};

/// The server's refusal: a refuse frame with `code`, then EOF, and nothing
/// else (no reply to anything sent along).
void expect_refused(wire_peer& peer, errc code) {
  auto end = peer.wait_end(limit);
  EXPECT_TRUE(end.closed);
  ASSERT_TRUE(end.code.has_value());
  EXPECT_EQ(*end.code, code_of(code)) << proctor::to_string(static_cast<errc>(*end.code));
  for (auto& frame : end.before)
    EXPECT_NE(frame.kind, frame_kind::reply);
}

} // namespace

TEST_F(handshake_attack, proofs_reflected_across_two_connections_are_refused) {
  wire_peer a{port_}, b{port_};
  auto hello_a = a.read_frame(limit), hello_b = b.read_frame(limit);
  ASSERT_TRUE(hello_a && hello_b);
  auto server_a = proctor::testing::decode_hello(hello_a->payload);
  auto server_b = proctor::testing::decode_hello(hello_b->payload);
  ASSERT_TRUE(server_a && server_b);
  // Each connection gets the other's nonce, as the old attack did.
  auto mine_a = proctor::testing::hello_as(handshake_role::initiator);
  auto mine_b = proctor::testing::hello_as(handshake_role::initiator);
  mine_a.nonce = server_b->nonce;
  mine_b.nonce = server_a->nonce;
  ASSERT_TRUE(a.write_frame(frame_kind::hello, proctor::testing::encode_hello(mine_a)));
  ASSERT_TRUE(b.write_frame(frame_kind::hello, proctor::testing::encode_hello(mine_b)));
  auto proof_a = a.read_frame(limit), proof_b = b.read_frame(limit);
  ASSERT_TRUE(proof_a && proof_b);
  ASSERT_EQ(proof_a->kind, frame_kind::proof);
  ASSERT_EQ(proof_b->kind, frame_kind::proof);
  // Each connection is handed the proof the server made on the other.
  ASSERT_TRUE(a.write_frame(frame_kind::proof, proof_b->payload));
  ASSERT_TRUE(b.write_frame(frame_kind::proof, proof_a->payload));
  a.write_frame(frame_kind::request, proctor::testing::encode_lookup(1, "idle"));
  b.write_frame(frame_kind::request, proctor::testing::encode_lookup(1, "idle"));
  expect_refused(a, errc::authentication_failed);
  expect_refused(b, errc::authentication_failed);
}

TEST_F(handshake_attack, the_servers_own_hello_reflected_is_refused) {
  wire_peer a{port_}, b{port_};
  auto hello_a = a.read_frame(limit), hello_b = b.read_frame(limit);
  ASSERT_TRUE(hello_a && hello_b);
  // The server's hello from b, as b's initiator would send it, on a.
  auto theirs = proctor::testing::decode_hello(hello_b->payload);
  ASSERT_TRUE(theirs);
  theirs->role = static_cast<std::uint8_t>(handshake_role::initiator);
  ASSERT_TRUE(a.write_frame(frame_kind::hello, proctor::testing::encode_hello(*theirs)));
  expect_refused(a, errc::authentication_failed);
}

TEST_F(handshake_attack, a_recorded_handshake_replayed_on_a_new_connection_is_refused) {
  legit_client recorded{authkey};
  {
    wire_peer first{port_};
    ASSERT_EQ(recorded.handshake_and_lookup(first, "idle"), 0);
  }
  wire_peer replay{port_};
  ASSERT_TRUE(replay.read_frame(limit)); // the server's fresh hello
  ASSERT_TRUE(replay.write_frame(frame_kind::hello, recorded.sent_hello));
  ASSERT_TRUE(replay.write_frame(frame_kind::proof, recorded.sent_proof));
  replay.write_frame(frame_kind::request, proctor::testing::encode_lookup(1, "idle"));
  expect_refused(replay, errc::authentication_failed);
}

TEST_F(handshake_attack, the_servers_proof_sent_back_is_refused) {
  wire_peer peer{port_};
  ASSERT_TRUE(peer.read_frame(limit));
  auto hello = proctor::testing::hello_as(handshake_role::initiator);
  ASSERT_TRUE(peer.write_frame(frame_kind::hello, proctor::testing::encode_hello(hello)));
  auto proof = peer.read_frame(limit);
  ASSERT_TRUE(proof);
  ASSERT_EQ(proof->kind, frame_kind::proof);
  ASSERT_TRUE(peer.write_frame(frame_kind::proof, proof->payload));
  expect_refused(peer, errc::authentication_failed);
}

TEST_F(handshake_attack, a_peer_claiming_the_acceptors_role_is_refused) {
  wire_peer peer{port_};
  ASSERT_TRUE(peer.read_frame(limit));
  auto hello = proctor::testing::hello_as(handshake_role::acceptor);
  ASSERT_TRUE(peer.write_frame(frame_kind::hello, proctor::testing::encode_hello(hello)));
  expect_refused(peer, errc::protocol_violation);
}

/// A client with the key, established, then sends its hello or its proof
/// again: the server closes the connection and answers nothing after it.
void expect_a_handshake_frame_again_closes(std::uint16_t port, frame_kind kind) {
  wire_peer peer{port};
  legit_client client{authkey};
  ASSERT_EQ(client.handshake_and_lookup(peer, "idle"), 0);
  auto& again = kind == frame_kind::hello ? client.sent_hello : client.sent_proof;
  ASSERT_TRUE(peer.write_frame(kind, again));
  peer.write_frame(frame_kind::request, proctor::testing::encode_lookup(2, "idle"));
  expect_refused(peer, errc::protocol_violation);
}

TEST_F(handshake_attack, a_second_hello_after_the_handshake_closes_the_connection) {
  expect_a_handshake_frame_again_closes(port_, frame_kind::hello);
}

TEST_F(handshake_attack, a_second_proof_after_the_handshake_closes_the_connection) {
  expect_a_handshake_frame_again_closes(port_, frame_kind::proof);
}

TEST_F(handshake_attack, a_node_id_live_on_another_link_is_refused) {
  wire_peer first{port_};
  legit_client owner{authkey};
  ASSERT_EQ(owner.handshake_and_lookup(first, "idle"), 0);
  // Another client with the key claims the same node.
  wire_peer second{port_};
  legit_client impostor{authkey};
  impostor.hello.node = owner.hello.node;
  EXPECT_EQ(impostor.handshake_and_lookup(second, "idle"), std::nullopt);
  EXPECT_EQ(impostor.refused, code_of(errc::duplicate_node));
  EXPECT_TRUE(second.wait_end(limit).closed);
  // The first link keeps its route and is served.
  ASSERT_TRUE(first.write_frame(frame_kind::request,
                                proctor::testing::encode_lookup(7, "idle")));
  auto reply = first.read_frame(limit);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->kind, frame_kind::reply);
  EXPECT_EQ(proctor::testing::reply_code(reply->payload), 0);
}

TEST_F(handshake_attack, silent_connections_do_not_keep_a_legitimate_client_out) {
  std::vector<std::unique_ptr<wire_peer>> silent;
  for (int i = 0; i < 300; ++i) {
    silent.push_back(std::make_unique<wire_peer>(port_));
    ASSERT_GE(silent.back()->fd(), 0) << "connection " << i;
  }
  EXPECT_TRUE(serves_a_legitimate_client());
  // The silent ones are dropped at the handshake timeout, not served.
  for (auto& peer : silent) {
    auto hello = peer->read_frame(limit);
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->kind, frame_kind::hello);
  }
  EXPECT_TRUE(silent.back()->wait_end(limit).closed);
}

// -- requests from a peer that knows the key -----------------------------------

namespace {

/// Sends a request frame with `kind` and `fields` and returns the reply's
/// code, or nothing if no reply came.
std::optional<std::uint8_t> ask(wire_peer& peer, std::uint64_t id, std::string_view kind,
                                std::span<const char> fields) {
  if (!peer.write_frame(frame_kind::request, encode_request(id, kind, fields)))
    return std::nullopt;
  for (;;) {
    auto frame = peer.read_frame(limit);
    if (!frame)
      return std::nullopt;
    if (frame->kind == frame_kind::reply) {
      reply_head head;
      if (!decode_reply_head(frame->payload, head) || head.id != id)
        return std::nullopt;
      return head.code;
    }
  }
}

template <class Request>
std::optional<std::uint8_t> ask(wire_peer& peer, std::uint64_t id, Request request) {
  return ask(peer, id, request.kind, encode(request));
}

/// A client that knows the key, past the handshake on `peer`.
bool established(wire_peer& peer) {
  legit_client client{authkey};
  return client.handshake_and_lookup(peer, "idle") == 0;
}

} // namespace

TEST_F(handshake_attack, a_peer_cannot_spawn_in_a_runtime_it_did_not_start) {
  wire_peer peer{port_};
  ASSERT_TRUE(established(peer));
  EXPECT_EQ(ask(peer, 2, spawn_request{"proctor.pool_worker"}), code_of(errc::bad_argument));
  EXPECT_EQ(ask(peer, 3, lookup_request{"idle"}), 0); // the link lives on
}

TEST_F(handshake_attack, an_unknown_request_is_answered_with_an_error) {
  wire_peer peer{port_};
  ASSERT_TRUE(established(peer));
  EXPECT_EQ(ask(peer, 2, "format_disk", {}), code_of(errc::bad_argument));
  EXPECT_EQ(ask(peer, 3, lookup_request{"nobody"}), code_of(errc::not_published));
}

TEST_F(handshake_attack, a_request_whose_fields_do_not_decode_is_answered_malformed) {
  wire_peer peer{port_};
  ASSERT_TRUE(established(peer));
  const char garbage[] = {'\x7f', '\x7f', '\x7f'};
  EXPECT_EQ(ask(peer, 2, "lookup", garbage), code_of(errc::malformed_payload));
  EXPECT_EQ(ask(peer, 3, lookup_request{"idle"}), 0);
}

TEST_F(handshake_attack, a_request_head_that_does_not_decode_closes_the_link) {
  wire_peer peer{port_};
  ASSERT_TRUE(established(peer));
  const char head[] = {'\x01'};
  ASSERT_TRUE(peer.write_frame(frame_kind::request, head));
  EXPECT_TRUE(peer.wait_end(limit).closed);
}

TEST_F(handshake_attack, a_peer_may_look_names_up_but_never_bind_or_drop_them) {
  wire_peer peer{port_};
  ASSERT_TRUE(established(peer));
  EXPECT_EQ(ask(peer, 2, register_request{"idle", {}, {}}), code_of(errc::bad_argument));
  EXPECT_EQ(ask(peer, 3, unregister_request{"idle"}), code_of(errc::bad_argument));
  EXPECT_EQ(ask(peer, 4, whereis_request{"nobody"}), code_of(errc::not_registered));
  EXPECT_EQ(ask(peer, 5, whereis_request{"registered"}), 0);
  EXPECT_EQ(ask(peer, 6, lookup_request{"registered"}), 0); // remote_actor's path
  EXPECT_EQ(ask(peer, 7, lookup_request{"idle"}), 0);       // the link lives on
}

TEST_F(handshake_attack, a_peer_gets_no_shared_memory) {
  // Blocks are for the workers a root started, over their own Unix links:
  // a peer could otherwise make the server allocate, or map what it holds.
  wire_peer peer{port_};
  ASSERT_TRUE(established(peer));
  auto refused = code_of(errc::bad_argument);
  EXPECT_EQ(ask(peer, 2, block_create_request{"mine", 1 << 20}), refused);
  EXPECT_EQ(ask(peer, 3, block_create_request{"", 1ull << 40}), refused);
  EXPECT_EQ(ask(peer, 4, block_attach_request{"served", 0, {}}), refused);
  EXPECT_EQ(ask(peer, 5, block_unlink_request{"served", 0}), refused);
  EXPECT_EQ(ask(peer, 6, block_release_request{"served", 1}), refused);
  EXPECT_EQ(ask(peer, 7, lookup_request{"idle"}), 0); // the link lives on
}
