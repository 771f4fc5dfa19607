#include "transport/handshake.hpp"

#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace proctor::internal {

namespace {

constexpr std::string_view initiator_label = "proctor/2 initiator finished";
constexpr std::string_view acceptor_label = "proctor/2 acceptor finished";

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string{"proctor: OpenSSL "} + what + " failed");
}

/// One HKDF (RFC 5869) in OpenSSL's EVP_KDF: extract with an all-zero salt,
/// then expand `label` to one digest.
std::array<std::uint8_t, digest_size> hkdf(std::string_view key,
                                           std::string_view label) {
  auto* kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  if (kdf == nullptr)
    fail("EVP_KDF_fetch(HKDF)");
  auto* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr)
    fail("EVP_KDF_CTX_new");
  std::array<std::uint8_t, digest_size> salt{};
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                      const_cast<char*>(key.data()), key.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                      const_cast<char*>(label.data()), label.size()),
    OSSL_PARAM_construct_end(),
  };
  std::array<std::uint8_t, digest_size> out{};
  int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1)
    fail("HKDF");
  return out;
}

void append_prefixed(EVP_MD_CTX* md, std::span<const char> bytes) {
  auto n = static_cast<std::uint32_t>(bytes.size());
  std::uint8_t length[4] = {std::uint8_t(n >> 24), std::uint8_t(n >> 16),
                            std::uint8_t(n >> 8), std::uint8_t(n)};
  if (EVP_DigestUpdate(md, length, sizeof(length)) != 1
      || EVP_DigestUpdate(md, bytes.data(), bytes.size()) != 1)
    fail("SHA-256");
}

} // namespace

std::vector<std::uint8_t> make_nonce() {
  std::vector<std::uint8_t> nonce(nonce_size);
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
    fail("RAND_bytes");
  return nonce;
}

void prepare_crypto() {
  make_nonce();
  auto keys = derive_handshake_keys("warm-up");
  auto digest = transcript_hash({}, {});
  compute_proof(keys, handshake_role::initiator, digest);
}

handshake_keys derive_handshake_keys(std::string_view authkey) {
  if (authkey.empty())
    throw std::invalid_argument("proctor: the authkey is empty");
  return {hkdf(authkey, initiator_label), hkdf(authkey, acceptor_label)};
}

std::array<std::uint8_t, digest_size>
transcript_hash(std::span<const char> initiator_hello,
                std::span<const char> acceptor_hello) {
  auto* md = EVP_MD_CTX_new();
  if (md == nullptr)
    fail("EVP_MD_CTX_new");
  std::array<std::uint8_t, digest_size> out{};
  unsigned int length = 0;
  bool ok = EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1;
  if (ok) {
    append_prefixed(md, initiator_hello);
    append_prefixed(md, acceptor_hello);
    ok = EVP_DigestFinal_ex(md, out.data(), &length) == 1 && length == out.size();
  }
  EVP_MD_CTX_free(md);
  if (!ok)
    fail("SHA-256");
  return out;
}

std::array<std::uint8_t, proof_size>
compute_proof(const handshake_keys& keys, handshake_role prover,
              std::span<const std::uint8_t, digest_size> transcript) {
  const auto& key = prover == handshake_role::initiator ? keys.initiator : keys.acceptor;
  std::array<std::uint8_t, proof_size> out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), transcript.data(),
           transcript.size(), out.data(), &length)
        == nullptr
      || length != out.size())
    fail("HMAC");
  return out;
}

bool proof_matches(std::span<const std::uint8_t> expected,
                   std::span<const std::uint8_t> received) {
  return expected.size() == received.size()
         && CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

} // namespace proctor::internal
