#pragma once

// TLS 1.3 under a connection's frames, through OpenSSL memory BIOs: the
// connection moves the bytes (its io thread reads, any sending thread may
// write), and a tls_session turns them into plaintext and back. Asio's
// ssl::stream would tie every write to the io thread; this keeps a lone
// send going out at once from the caller, as on a plain link.
//
// Both sides present a certificate signed by the configured CA (mutual
// authentication), and a connecting side checks that the server's
// certificate names the host it dialled. The proctor handshake runs inside:
// the certificate proves the host, the authkey proves membership.

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <vector>

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace proctor::internal {

/// Whether `host` is an IPv4 or IPv6 address rather than a name: a
/// certificate names the one as IP, the other as DNS.
bool is_ip_address(const std::string& host);

/// A process's TLS identity: PEM file names.
struct tls_files {
  std::string certificate; ///< this host's certificate (chain)
  std::string private_key;
  std::string authority;   ///< the CA every member's certificate is signed by
  /// The name a server's certificate must carry, instead of the host of the
  /// endpoint dialled (empty: that host).
  std::string server_name;
};

/// The loaded files, shared by every TLS connection of the process.
class tls_context {
public:
  /// Loads and checks the files; nullptr with `detail` if one is unusable.
  static std::shared_ptr<const tls_context> load(const tls_files& files, std::string& detail);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  ssl_ctx_st* native() const noexcept {
    return ctx_;
  }

  const std::string& server_name() const noexcept {
    return server_name_;
  }

private:
  tls_context(ssl_ctx_st* ctx, std::string server_name);

  ssl_ctx_st* ctx_;
  std::string server_name_;
};

/// One side of one TLS connection. Thread-safe: every call takes the
/// session's mutex (OpenSSL's SSL object is not), which nobody holds across
/// a system call. A caller may hold its connection's mutex while calling.
class tls_session {
public:
  /// `client`: this side connected, and checks that the server's
  /// certificate names `peer_host` (a DNS name or an IP address).
  tls_session(const tls_context& ctx, bool client, const std::string& peer_host);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// A client's first flight (its ClientHello) into the output.
  void start();

  /// Bytes from the socket: appends what they decrypt to at `plain[end]`
  /// (growing `plain`; at most about as many bytes as came in) and advances
  /// `end`. A failed handshake is tls_failed; a peer that speaks plain
  /// proctor instead is tls_required (we are the server) or tls_failed.
  std::error_code receive(std::span<const char> cipher, std::vector<char>& plain,
                          std::size_t& end, std::string& detail);

  /// True once both sides verified each other.
  bool handshake_done() const;

  /// Encrypts `plain` into the output; only once handshake_done().
  bool encrypt(std::span<const char> plain);

  /// Whether bytes wait for the socket (a handshake answer, an alert).
  bool has_output() const;

  /// Appends the bytes waiting for the socket to `out`.
  void take_output(std::vector<char>& out);

  /// The peer's first bytes were a plain proctor frame: it is told so in
  /// plain proctor.
  bool peer_is_plain() const;

private:
  std::error_code failed(int ssl_error, std::string& detail);

  mutable std::mutex mtx_;
  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;  ///< owned by ssl_
  bio_st* out_ = nullptr; ///< owned by ssl_
  bool client_;
  bool saw_first_byte_ = false;
  bool plain_peer_ = false;
};

} // namespace proctor::internal
