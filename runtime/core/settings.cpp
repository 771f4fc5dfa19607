// The runtime's flags (and config file), and the connection settings they
// make: limits, heartbeats, TLS.
#include "runtime/core/runtime_impl.hpp"

#include <fstream>
#include <string_view>

#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>

#include "transport/base/log.hpp"
#include "transport/tls.hpp"

namespace proctor::internal {

namespace {

constexpr std::string_view config_file_flag = "--proctor.config-file=";

} // namespace

runtime_config::runtime_config() {
  opt_group{custom_options_, "proctor"}
    .add<std::string>("config-file", "read settings from this file (INI, a [proctor] section)")
    .add<std::size_t>("max-frame-size", "largest frame accepted, in bytes")
    .add<std::size_t>("max-shared-size",
                      "largest shared-memory payload accepted from a process, in bytes")
    .add<std::size_t>("handshake-timeout", "handshake deadline, in milliseconds")
    .add<std::size_t>("heartbeat-interval",
                      "heartbeats on links to peers and nodes, in milliseconds (0: none)")
    .add<std::size_t>("dead-after", "a peer silent this long is dead, in milliseconds")
    .add<std::string>("start-method", "forkserver (default) or spawn")
    .add<std::string>("authkey-file", "file holding the shared authkey")
    .add<std::string>("join", "run as a node of the master listening at this endpoint")
    .add<std::size_t>("rejoin-for", "a node that lost its master tries this long, in ms")
    .add<std::string>("tls-certificate", "TLS on tcp endpoints: this host's certificate (PEM)")
    .add<std::string>("tls-key", "TLS: the certificate's private key (PEM)")
    .add<std::string>("tls-ca", "TLS: the CA that signs every member's certificate (PEM)")
    .add<std::string>("tls-server-name",
                      "TLS: the name a server's certificate must carry (default: the host dialled)");
}

void runtime_impl::read_settings() {
  std::vector<std::string> ours;
  std::string config_file;
  for (const auto& arg : argv_) {
    if (&arg == &argv_.front())
      continue;
    std::string_view text{arg};
    if (text.starts_with(config_file_flag))
      config_file = text.substr(config_file_flag.size());
    if (text.starts_with("--proctor.") || text.starts_with("--scheduler."))
      ours.emplace_back(text);
  }
  caf::error err;
  if (config_file.empty()) {
    err = cfg_.parse(ours);
  } else {
    std::ifstream in{config_file};
    if (!in)
      throw error(errc::bad_argument, "proctor: cannot read the config file " + config_file);
    err = cfg_.parse(ours, in);
  }
  if (err)
    throw error(errc::bad_argument, "proctor: bad flag: " + cfg_.render(err));
  max_frame_size_ = static_cast<std::uint32_t>(
    caf::get_or(cfg_, "proctor.max-frame-size", std::size_t{default_max_frame_size}));
  max_shared_size_ = static_cast<std::uint64_t>(
    caf::get_or(cfg_, "proctor.max-shared-size", std::size_t{default_max_shared_size}));
  handshake_timeout_ = std::chrono::milliseconds{
    caf::get_or(cfg_, "proctor.handshake-timeout", std::size_t{5000})};
  heartbeat_interval_ = std::chrono::milliseconds{
    caf::get_or(cfg_, "proctor.heartbeat-interval", std::size_t{1000})};
  dead_after_ = std::chrono::milliseconds{
    caf::get_or(cfg_, "proctor.dead-after", std::size_t{10000})};
  join_endpoint_ = caf::get_or(cfg_, "proctor.join", std::string{});
  rejoin_for_ = std::chrono::milliseconds{
    caf::get_or(cfg_, "proctor.rejoin-for", std::size_t{60000})};
  if (heartbeat_interval_.count() > 0 && dead_after_ <= heartbeat_interval_)
    throw error(errc::bad_argument, "proctor: --proctor.dead-after must exceed "
                                    "--proctor.heartbeat-interval");
  load_tls();
}

void runtime_impl::load_tls() {
  tls_files files;
  files.certificate = caf::get_or(cfg_, "proctor.tls-certificate", std::string{});
  files.private_key = caf::get_or(cfg_, "proctor.tls-key", std::string{});
  files.authority = caf::get_or(cfg_, "proctor.tls-ca", std::string{});
  files.server_name = caf::get_or(cfg_, "proctor.tls-server-name", std::string{});
  auto given = !files.certificate.empty() + !files.private_key.empty()
               + !files.authority.empty();
  if (given == 0)
    return;
  if (given != 3)
    throw error(errc::bad_argument, "proctor: TLS needs all of --proctor.tls-certificate, "
                                    "--proctor.tls-key and --proctor.tls-ca");
  std::string detail;
  tls_ = tls_context::load(files, detail);
  if (!tls_)
    throw error(errc::tls_failed, "proctor: " + detail);
}

connection_settings runtime_impl::link_settings(handshake_role role) const {
  connection_settings s;
  s.keys = keys_;
  s.role = role;
  s.fingerprint = binary_fingerprint();
  s.node = router_->node_blob();
  s.max_frame_size = max_frame_size_;
  s.max_shared_size = max_shared_size_;
  s.handshake_timeout = handshake_timeout_;
  return s;
}

connection_settings runtime_impl::peer_settings(const endpoint& ep, handshake_role role,
                                                const handshake_keys& keys) const {
  auto s = link_settings(role);
  s.keys = keys;
  s.heartbeat_interval = heartbeat_interval_;
  s.dead_after = dead_after_;
  // TLS covers what crosses a network; a unix socket stays on this host.
  if (tls_ && ep.kind == endpoint::scheme::tcp) {
    s.tls = tls_;
    s.tls_peer_host = ep.host;
  }
  return s;
}

} // namespace proctor::internal
