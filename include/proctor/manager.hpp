#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proctor/barrier.hpp"
#include "proctor/condition.hpp"
#include "proctor/dict.hpp"
#include "proctor/queue.hpp"
#include "proctor/sync.hpp"
#include "proctor/detail/served_type.hpp"

namespace proctor {

class runtime;

struct manager_options {
  /// The key to prove to the manager, as Python's BaseManager(authkey=...):
  /// the serving program's authkey. By default this runtime's own.
  std::optional<std::string> authkey;
};

/// Python's BaseManager server: serves named objects of this process to
/// other processes, on this host or others, that connect with a
/// manager_client and this runtime's authkey (--proctor.authkey-file or
/// PROCTOR_AUTHKEY; Python's `authkey=`). A client that proves the key is
/// a member of this program's cluster, trusted as any peer: there is no
/// second, weaker key for managers. Objects are handles: queues (plain,
/// joinable, simple), locks, semaphores, events, conditions, barriers,
/// dicts, values and actors. A client receives handles, checked against the
/// type it asks for; it never sends code, and nothing it sends is run.
///
/// The objects stay this process's: it keeps using them, and they live as
/// long as its runtime. A client's puts, gets and calls go straight to the
/// object's actor, as a worker's do.
class manager {
public:
  /// Listens on `endpoint` (`tcp://host:port`, `unix:/path`...; port 0 picks
  /// a free one). Throws proctor::error: invalid_endpoint, connect_failed
  /// (the address is taken).
  manager(runtime& rt, const std::string& endpoint);

  /// shutdown().
  ~manager();

  manager(const manager&) = delete;
  manager& operator=(const manager&) = delete;

  /// The endpoint bound, with the real port.
  const std::string& address() const;

  /// Serves `object` as `name` (replacing what was served as `name`).
  template <class H>
  void serve(const std::string& name, const H& object) {
    H copy = object;
    internal::serve_object(*state_, name, internal::served_type<H>::name(),
                           [&copy](caf::serializer& sink) { return sink(copy); });
  }

  /// Python's shutdown(): stops accepting clients and closes the links of
  /// those connected; every call they make through what they got from this
  /// manager, pending or later, fails with errc::owner_gone. Idempotent.
  void shutdown();

private:
  std::shared_ptr<internal::manager_state> state_;
};

/// Python's BaseManager.connect(): a connection to a manager's endpoint.
class manager_client {
public:
  /// Connects and authenticates. Throws proctor::error: invalid_endpoint,
  /// connect_failed, timeout, authentication_failed (a wrong key),
  /// fingerprint_mismatch (another build of the program), not_published
  /// (the endpoint is not a manager's).
  manager_client(runtime& rt, const std::string& endpoint, manager_options options = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// The object served as `name`, as a handle of type H. Throws
  /// proctor::error: not_published (no such name), type_mismatch (the name
  /// serves another type: a queue<int> asked for as a queue<std::string>),
  /// owner_gone (the manager shut down, or its link was lost).
  template <class H>
  H get(const std::string& name) {
    H out;
    internal::open_object(*conn_, name, internal::served_type<H>::name(),
                          [&out](caf::deserializer& source) { return source(out); });
    return out;
  }

  /// Every name served, with its type as get() checks it.
  std::vector<std::pair<std::string, std::string>> names() const;

private:
  std::shared_ptr<internal::manager_connection> conn_;
};

} // namespace proctor
