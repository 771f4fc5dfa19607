#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace proctor::internal {

constexpr std::size_t nonce_size = 32;
constexpr std::size_t digest_size = 32; // SHA-256
constexpr std::size_t proof_size = 32;  // HMAC-SHA256

/// Which end of a connection a side is. The one that connected (or, over a
/// socket pair, the parent) initiates. A proof is keyed by its prover's role,
/// so a proof made in one direction is worthless in the other.
enum class handshake_role : std::uint8_t { initiator = 1, acceptor = 2 };

/// The first frame each side sends. The node blob is opaque to transport/:
/// the actor layer puts its caf::node_id there.
struct hello_payload {
  std::uint8_t role = 0; ///< a handshake_role
  std::vector<std::uint8_t> nonce;
  std::uint64_t fingerprint = 0;
  std::uint32_t pid = 0;
  std::vector<char> node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello_payload& x) {
  return f(caf::meta::type_name("hello"), x.role, x.nonce, x.fingerprint, x.pid,
           x.node);
}

struct proof_payload {
  std::vector<std::uint8_t> mac;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proof_payload& x) {
  return f(caf::meta::type_name("proof"), x.mac);
}

/// Sent before a side closes on purpose, so both sides log the same reason.
struct refuse_payload {
  std::uint8_t code = 0; ///< a proctor::errc
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refuse_payload& x) {
  return f(caf::meta::type_name("refuse"), x.code, x.reason);
}

/// Fresh random bytes from OpenSSL's CSPRNG.
std::vector<std::uint8_t> make_nonce();

/// Initialises OpenSSL's random generator, HKDF, SHA-256 and HMAC once, so
/// processes forked afterwards inherit them ready (OpenSSL reseeds its
/// generator after a fork).
void prepare_crypto();

/// The two finished keys of a TLS 1.3 style handshake, one per direction:
/// HKDF-Expand(HKDF-Extract(salt = 0, authkey), "proctor/2 <role> finished").
/// Derived once per runtime; the authkey itself is not kept next to them.
struct handshake_keys {
  std::array<std::uint8_t, digest_size> initiator{};
  std::array<std::uint8_t, digest_size> acceptor{};
};

handshake_keys derive_handshake_keys(std::string_view authkey);

/// SHA-256 over both hellos as sent, the initiator's first, each prefixed by
/// its length (u32, big-endian), so no two transcripts hash alike by
/// shifting bytes between the hellos.
std::array<std::uint8_t, digest_size>
transcript_hash(std::span<const char> initiator_hello,
                std::span<const char> acceptor_hello);

/// What `prover` sends: HMAC-SHA256(finished key of prover's role,
/// transcript hash), TLS 1.3's Finished (RFC 8446, 4.4.4).
std::array<std::uint8_t, proof_size>
compute_proof(const handshake_keys& keys, handshake_role prover,
              std::span<const std::uint8_t, digest_size> transcript);

/// Constant-time comparison of a received proof against the expected one.
bool proof_matches(std::span<const std::uint8_t> expected,
                   std::span<const std::uint8_t> received);

} // namespace proctor::internal
