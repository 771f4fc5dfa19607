#include "transport/tls.hpp"

#include <algorithm>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "proctor/errc.hpp"
#include "transport/frame.hpp"

namespace proctor::internal {

namespace {

/// OpenSSL's most recent error on this thread, as text; clears the queue.
std::string openssl_error() {
  auto code = ERR_peek_last_error();
  std::string text = "unknown error";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

/// The first byte of every proctor frame (the magic's "P"); a TLS record
/// starts with its content type, 20 to 23.
constexpr char plain_frame_start = static_cast<char>(frame_magic >> 24);

/// Room for one TLS record's plaintext.
constexpr std::size_t record_size = 16 * 1024;

} // namespace

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1
         || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}


// -- tls_context ----------------------------------------------------------------

tls_context::tls_context(ssl_ctx_st* ctx, std::string server_name)
  : ctx_(ctx), server_name_(std::move(server_name)) {
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

std::shared_ptr<const tls_context> tls_context::load(const tls_files& files,
                                                     std::string& detail) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) {
    detail = "cannot create a TLS context: " + openssl_error();
    return nullptr;
  }
  std::shared_ptr<const tls_context> result{new tls_context(ctx, files.server_name)};
  auto fail = [&](const std::string& what) {
    detail = what + ": " + openssl_error();
    return nullptr;
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  // No session resumption: links are long-lived, and tickets would only be
  // state to keep.
  SSL_CTX_set_num_tickets(ctx, 0);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1)
    return fail("cannot load the TLS certificate " + files.certificate);
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1
      || SSL_CTX_check_private_key(ctx) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
      return fail("the TLS key " + files.private_key + " does not match the certificate "
                  + files.certificate);
    return fail("cannot load the TLS key " + files.private_key);
  }
  if (SSL_CTX_load_verify_locations(ctx, files.authority.c_str(), nullptr) != 1)
    return fail("cannot load the TLS CA " + files.authority);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return result;
}

// -- tls_session ----------------------------------------------------------------

tls_session::tls_session(const tls_context& ctx, bool client, const std::string& peer_host)
  : client_(client) {
  ssl_ = SSL_new(ctx.native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    throw std::bad_alloc{};
  }
  // An empty input buffer means "wait for more", not the end of the stream.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  if (!client) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  auto name = ctx.server_name().empty() ? peer_host : ctx.server_name();
  if (is_ip_address(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, name.c_str());
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl_, name.c_str());
  }
}

tls_session::~tls_session() {
  SSL_free(ssl_); // and both BIOs
}

void tls_session::start() {
  std::lock_guard<std::mutex> guard{mtx_};
  ERR_clear_error();
  (void) SSL_do_handshake(ssl_); // wants to read the server's answer
  ERR_clear_error();
}

std::error_code tls_session::receive(std::span<const char> cipher, std::vector<char>& plain,
                                     std::size_t& end, std::string& detail) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!saw_first_byte_ && !cipher.empty()) {
    saw_first_byte_ = true;
    if (cipher.front() == plain_frame_start) {
      plain_peer_ = true;
      if (client_) {
        detail = "the endpoint does not use TLS (it speaks plain proctor)";
        return errc::tls_failed;
      }
      detail = "the peer connected without TLS; this endpoint requires it";
      return errc::tls_required;
    }
  }
  ERR_clear_error();
  // A memory BIO takes everything.
  if (!cipher.empty() && BIO_write(in_, cipher.data(), static_cast<int>(cipher.size())) <= 0) {
    detail = "cannot buffer TLS input: " + openssl_error();
    return errc::tls_failed;
  }
  for (;;) {
    if (!SSL_is_init_finished(ssl_)) {
      auto rc = SSL_do_handshake(ssl_);
      if (rc != 1) {
        auto e = SSL_get_error(ssl_, rc);
        return e == SSL_ERROR_WANT_READ ? std::error_code{} : failed(e, detail);
      }
    }
    if (plain.size() - end < record_size)
      plain.resize(end + record_size);
    auto n = SSL_read(ssl_, plain.data() + end, static_cast<int>(plain.size() - end));
    if (n > 0) {
      end += static_cast<std::size_t>(n);
      continue;
    }
    auto e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ)
      return {};
    if (e == SSL_ERROR_ZERO_RETURN) {
      detail = "the peer ended its TLS session";
      return errc::connection_closed;
    }
    return failed(e, detail);
  }
}

std::error_code tls_session::failed(int ssl_error, std::string& detail) {
  if (ssl_error != SSL_ERROR_SSL) {
    detail = "TLS failed (OpenSSL error " + std::to_string(ssl_error) + ")";
    ERR_clear_error();
    return errc::tls_failed;
  }
  auto verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    detail = std::string{"the peer's certificate is not accepted: "}
             + X509_verify_cert_error_string(verify);
    ERR_clear_error();
  } else {
    detail = "TLS handshake failed: " + openssl_error();
  }
  return errc::tls_failed;
}

bool tls_session::handshake_done() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return SSL_is_init_finished(ssl_) == 1;
}

bool tls_session::encrypt(std::span<const char> plain) {
  std::lock_guard<std::mutex> guard{mtx_};
  ERR_clear_error();
  // SSL_write takes an int: large batches go in pieces.
  constexpr std::size_t piece = 1u << 20;
  for (std::size_t done = 0; done < plain.size();) {
    auto n = std::min(piece, plain.size() - done);
    if (SSL_write(ssl_, plain.data() + done, static_cast<int>(n)) <= 0) {
      ERR_clear_error();
      return false;
    }
    done += n;
  }
  return true;
}

bool tls_session::has_output() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return BIO_ctrl_pending(out_) > 0;
}

void tls_session::take_output(std::vector<char>& out) {
  std::lock_guard<std::mutex> guard{mtx_};
  char* data = nullptr;
  auto n = BIO_get_mem_data(out_, &data);
  if (n <= 0)
    return;
  out.insert(out.end(), data, data + n);
  (void) BIO_reset(out_);
}

bool tls_session::peer_is_plain() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return plain_peer_;
}

} // namespace proctor::internal
