#include "transport/handshake.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace proctor::internal {

namespace {

constexpr std::string_view proof_label = "proctor/1 proof";

} // namespace

std::vector<std::uint8_t> make_nonce() {
  std::vector<std::uint8_t> nonce(nonce_size);
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
    throw std::runtime_error("proctor: OpenSSL RAND_bytes failed");
  return nonce;
}

void prepare_crypto() {
  make_nonce();
  std::array<std::uint8_t, 1> nothing{};
  compute_proof("", nothing, nothing, 0);
}

std::array<std::uint8_t, proof_size>
compute_proof(std::string_view authkey,
              std::span<const std::uint8_t> verifier_nonce,
              std::span<const std::uint8_t> prover_nonce,
              std::uint64_t prover_fingerprint) {
  std::vector<std::uint8_t> data;
  data.reserve(proof_label.size() + verifier_nonce.size() + prover_nonce.size() + 8);
  data.insert(data.end(), proof_label.begin(), proof_label.end());
  data.insert(data.end(), verifier_nonce.begin(), verifier_nonce.end());
  data.insert(data.end(), prover_nonce.begin(), prover_nonce.end());
  for (int shift = 56; shift >= 0; shift -= 8)
    data.push_back(static_cast<std::uint8_t>(prover_fingerprint >> shift));
  std::array<std::uint8_t, proof_size> out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), authkey.data(), static_cast<int>(authkey.size()),
           data.data(), data.size(), out.data(), &length)
        == nullptr
      || length != out.size())
    throw std::runtime_error("proctor: OpenSSL HMAC failed");
  return out;
}

bool proof_matches(std::span<const std::uint8_t> expected,
                   std::span<const std::uint8_t> received) {
  return expected.size() == received.size()
         && CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

} // namespace proctor::internal
