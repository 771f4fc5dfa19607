#pragma once

#include <string>
#include <vector>

struct evp_pkey_st;
struct x509_st;

namespace proctor::testing {

/// A certificate and its private key, as PEM files.
struct tls_identity {
  std::string certificate;
  std::string private_key;
};

/// A certificate authority made at test time, in a fresh directory: its
/// certificate (`authority`), and leaf certificates it signs.
class test_pki {
public:
  /// A new CA called `name`.
  explicit test_pki(const std::string& name = "proctor test CA");
  ~test_pki();
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  /// The CA's certificate file.
  const std::string& authority() const noexcept {
    return authority_;
  }

  /// A key and a certificate for `stem`, valid for client and server use,
  /// naming `names` (DNS names or IP addresses) as subject alternatives.
  tls_identity issue(const std::string& stem, const std::vector<std::string>& names);

  /// The --proctor.tls-* flags for `who`, trusting this CA.
  std::vector<std::string> flags(const tls_identity& who) const;

private:
  std::string dir_;
  std::string authority_;
  evp_pkey_st* ca_key_ = nullptr;
  x509_st* ca_cert_ = nullptr;
  long serial_ = 1;
};

} // namespace proctor::testing
