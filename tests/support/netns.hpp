#pragma once

#include <string>
#include <vector>

namespace proctor::testing {

/// Two network namespaces joined by a veth pair, as two hosts: `first` at
/// address(0), `second` at address(1), on a /24 of 10.x.y.0 picked from the
/// pid so that tests running at once do not meet. Needs root and iproute2;
/// the destructor deletes both namespaces (and so the pair).
class netns_pair {
public:
  netns_pair();
  ~netns_pair();

  netns_pair(const netns_pair&) = delete;
  netns_pair& operator=(const netns_pair&) = delete;

  /// Why namespaces cannot be made here (not root, no `ip`); empty if they
  /// can.
  static std::string unavailable();

  /// Whether the constructor made both namespaces; error() says why not.
  bool ok() const noexcept {
    return error_.empty();
  }

  const std::string& error() const noexcept {
    return error_;
  }

  /// The address of host 0 (the first namespace) or 1 (the second).
  std::string address(int host) const;

  /// `argv` run inside host 0 or 1 (prefixed with `ip netns exec NAME`).
  std::vector<std::string> in(int host, std::vector<std::string> argv) const;

  /// Takes the link between the hosts down or up again (a partition).
  bool set_link(bool up);

private:
  std::string name_[2];
  std::string veth_[2];
  std::string subnet_; ///< "10.x.y."
  std::string error_;
};

/// Runs `argv` to its end (at most 30 s); empty on exit 0, else what it
/// printed on stderr with its exit code.
std::string run_command(const std::vector<std::string>& argv);

/// The path of iproute2's `ip`, or empty.
std::string ip_command();

} // namespace proctor::testing
