#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace proctor::internal {

// The requests a proctor::manager serves on the links its endpoint accepted
// (on the link request layer, actors/remote/link_requests.hpp). A served
// object travels as its handle serialized with the router's context: actor
// handles become proxies at the client, and nothing received is run.

// Both requests carry the endpoint the client dialed: a client whose node
// is linked to the manager's already (a worker of the manager's process)
// asks through that link, which no manager accepted, and the endpoint then
// names the manager.

/// The object served as `name`, if it has the type `type` (the spelling of
/// served_type<H>::name()).
struct open_request {
  static constexpr std::string_view kind = "open";
  struct reply_type {
    std::string type;
    std::vector<char> handle;
  };
  std::string endpoint;
  std::string name;
  std::string type;
};

/// Every name served, with its type: a client's first request, which proves
/// that the endpoint is a manager's and that the key is right.
struct names_request {
  static constexpr std::string_view kind = "names";
  struct reply_type {
    std::vector<std::string> names;
    std::vector<std::string> types;
  };
  std::string endpoint;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, open_request& x) {
  return f(x.endpoint, x.name, x.type);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, open_request::reply_type& x) {
  return f(x.type, x.handle);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, names_request& x) {
  return f(x.endpoint);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, names_request::reply_type& x) {
  return f(x.names, x.types);
}

/// What a manager serves to the links its endpoint accepted. Called on the
/// io thread: must not block.
class object_directory {
public:
  virtual ~object_directory() = default;

  virtual caf::expected<open_request::reply_type> open(const open_request& request) = 0;

  virtual names_request::reply_type names() = 0;

  /// The endpoint bound, as endpoint::to_string() spells it.
  virtual std::string address() const = 0;

  /// Whether it was shut down: a link accepted since is refused.
  virtual bool shut_down() const = 0;
};

} // namespace proctor::internal
