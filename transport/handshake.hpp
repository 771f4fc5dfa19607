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
constexpr std::size_t proof_size = 32; // HMAC-SHA256

/// The first frame each side sends. The node blob is opaque to transport/:
/// the actor layer puts its caf::node_id there.
struct hello_payload {
  std::vector<std::uint8_t> nonce;
  std::uint64_t fingerprint = 0;
  std::uint32_t pid = 0;
  std::vector<char> node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello_payload& x) {
  return f(caf::meta::type_name("hello"), x.nonce, x.fingerprint, x.pid, x.node);
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

/// Initialises OpenSSL's random generator and HMAC once, so processes forked
/// afterwards inherit them ready (OpenSSL reseeds its generator after a fork).
void prepare_crypto();

/// What a prover sends: HMAC-SHA256(key, label | verifier's nonce | prover's
/// nonce | prover's fingerprint). Binding the verifier's fresh nonce defeats
/// replay; binding the order of the nonces defeats reflection.
std::array<std::uint8_t, proof_size>
compute_proof(std::string_view authkey,
              std::span<const std::uint8_t> verifier_nonce,
              std::span<const std::uint8_t> prover_nonce,
              std::uint64_t prover_fingerprint);

/// Constant-time comparison of a received proof against the expected one.
bool proof_matches(std::span<const std::uint8_t> expected,
                   std::span<const std::uint8_t> received);

} // namespace proctor::internal
