#pragma once

// The name registry's requests on the link request layer: a worker or a
// node asks the master, which holds the one table of the cluster. Served by
// the master (and, passed on to the master, by a node for its workers); a
// peer linked through listen() may only look names up ("lookup").

#include <string>
#include <string_view>

#include "actors/remote/link_requests.hpp"

namespace proctor::internal {

/// Binds `name` to the actor at `actor` (which lives at the sender's end).
/// `replacing`, if set, is the binding's previous actor, which this one
/// may replace (a supervisor restarting a child). Errors: name_taken,
/// bad_argument.
struct register_request {
  static constexpr std::string_view kind = "register";
  struct reply_type {};
  std::string name;
  actor_address actor;
  actor_address replacing;
};

/// The actor bound to `name`: not_registered if none.
struct whereis_request {
  static constexpr std::string_view kind = "whereis";
  using reply_type = actor_address;
  std::string name;
};

/// Drops the binding of `name`: not_registered if none.
struct unregister_request {
  static constexpr std::string_view kind = "unregister";
  struct reply_type {};
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_request& x) {
  return f(x.name, x.actor, x.replacing);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_request::reply_type&) {
  return f();
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, whereis_request& x) {
  return f(x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_request& x) {
  return f(x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_request::reply_type&) {
  return f();
}

} // namespace proctor::internal
