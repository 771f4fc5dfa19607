// Certificates made with OpenSSL's API at test time: nothing to ship,
// nothing to expire, no openssl binary needed.
#include "tests/support/test_pki.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/support/subprocess.hpp"
#include "transport/tls.hpp"

namespace proctor::testing {

namespace {

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"test_pki: "} + what);
}

EVP_PKEY* new_key() {
  auto* key = EVP_EC_gen("P-256");
  check(key != nullptr, "cannot make a key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "bad extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `common_name`, one day valid, not yet signed.
X509* new_certificate(EVP_PKEY* key, const std::string& common_name, long serial) {
  auto* cert = X509_new();
  check(cert != nullptr, "cannot make a certificate");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  return cert;
}

template <class Write>
void write_pem(const std::string& path, Write write) {
  auto* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "cannot write a PEM file");
  bool ok = write(file) == 1;
  std::fclose(file);
  check(ok, "cannot encode a PEM file");
}

} // namespace

test_pki::test_pki(const std::string& name) : dir_(make_temp_dir()) {
  ca_key_ = new_key();
  ca_cert_ = new_certificate(ca_key_, name, serial_++);
  X509_set_issuer_name(ca_cert_, X509_get_subject_name(ca_cert_));
  add_extension(ca_cert_, ca_cert_, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca_cert_, ca_cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca_cert_, ca_cert_, NID_subject_key_identifier, "hash");
  check(X509_sign(ca_cert_, ca_key_, EVP_sha256()) > 0, "cannot sign the CA");
  authority_ = dir_ + "/ca.pem";
  write_pem(authority_, [&](FILE* f) { return PEM_write_X509(f, ca_cert_); });
}

test_pki::~test_pki() {
  X509_free(ca_cert_);
  EVP_PKEY_free(ca_key_);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

tls_identity test_pki::issue(const std::string& stem, const std::vector<std::string>& names) {
  auto* key = new_key();
  auto* cert = new_certificate(key, stem, serial_++);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_cert_));
  add_extension(cert, ca_cert_, NID_basic_constraints, "CA:FALSE");
  add_extension(cert, ca_cert_, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert, ca_cert_, NID_authority_key_identifier, "keyid");
  std::string alt;
  for (const auto& n : names)
    alt += (alt.empty() ? "" : ",") + std::string{internal::is_ip_address(n) ? "IP:" : "DNS:"} + n;
  if (!alt.empty())
    add_extension(cert, ca_cert_, NID_subject_alt_name, alt);
  check(X509_sign(cert, ca_key_, EVP_sha256()) > 0, "cannot sign a certificate");
  tls_identity result{dir_ + "/" + stem + ".pem", dir_ + "/" + stem + ".key"};
  write_pem(result.certificate, [&](FILE* f) { return PEM_write_X509(f, cert); });
  write_pem(result.private_key, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  X509_free(cert);
  EVP_PKEY_free(key);
  return result;
}

std::vector<std::string> test_pki::flags(const tls_identity& who) const {
  return {"--proctor.tls-certificate=" + who.certificate,
          "--proctor.tls-key=" + who.private_key, "--proctor.tls-ca=" + authority_};
}

} // namespace proctor::testing
