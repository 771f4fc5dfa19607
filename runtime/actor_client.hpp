#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include <caf/actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/errc.hpp"

namespace proctor::internal {

/// A process's blocking side of one channel actor (queue, lock, event): a
/// scoped actor that monitors it and turns its loss into errc::owner_gone,
/// for this call and every later one. Callers hold `mtx` around each use.
/// Why a channel is unusable, shared by every session of one handle.
class channel_failure {
public:
  void set(std::string text) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!text_)
      text_ = std::move(text);
  }

  std::optional<std::string> get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return text_;
  }

private:
  mutable std::mutex mtx_;
  std::optional<std::string> text_;
};

class actor_client {
public:
  actor_client(caf::actor_system& sys, caf::actor target, const char* what,
               std::shared_ptr<channel_failure> failure)
    : self(sys), target(std::move(target)), what_(what), failure_(std::move(failure)) {
    self->monitor(this->target);
  }

  /// Sends a request and waits for its one-value reply.
  template <class R, class... Ts>
  R ask(Ts&&... xs) {
    check();
    std::optional<R> result;
    self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](R& x) { result = std::move(x); }, [&](caf::error& err) { fail(err); });
    return std::move(*result);
  }

  /// Sends a request and waits for its two-value reply.
  template <class R1, class R2, class... Ts>
  std::tuple<R1, R2> ask2(Ts&&... xs) {
    check();
    std::optional<std::tuple<R1, R2>> result;
    self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](R1& x, R2& y) { result.emplace(std::move(x), std::move(y)); },
               [&](caf::error& err) { fail(err); });
    return std::move(*result);
  }

  /// The channel is gone: this and every later call throws owner_gone.
  [[noreturn]] void fail(const caf::error& reason) {
    failure_->set(std::string{"proctor: the "} + what_ + "'s owner is gone: "
                  + self->system().render(reason));
    throw error(errc::owner_gone, *failure_->get());
  }

  void check() {
    if (auto text = failure_->get())
      throw error(errc::owner_gone, *text);
  }

  std::mutex mtx;
  caf::scoped_actor self;
  caf::actor target;

private:
  const char* what_;
  std::shared_ptr<channel_failure> failure_;
};

} // namespace proctor::internal

#include <map>
#include <memory>
#include <thread>

namespace proctor::internal {

/// One Session per thread: a thread blocked in one call (a get, an acquire)
/// never holds up another thread using the same handle, and each thread is
/// its own holder of a lock.
template <class Session>
class per_thread {
public:
  per_thread(caf::actor_system& sys, caf::actor target)
    : sys_(sys), target_(std::move(target)) {
  }

  Session& mine() {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& session = sessions_[std::this_thread::get_id()];
    if (!session) {
      if constexpr (requires { typename Session::shared_state; })
        session = std::make_unique<Session>(sys_, target_, failure_, shared_);
      else
        session = std::make_unique<Session>(sys_, target_, failure_);
    }
    return *session;
  }

protected:
  const caf::actor& target() const noexcept {
    return target_;
  }

  /// What the sessions of one handle share, if the Session type says.
  template <class S>
  struct shared_of {
    using type = int;
  };
  template <class S>
    requires requires { typename S::shared_state; }
  struct shared_of<S> {
    using type = typename S::shared_state;
  };

  std::shared_ptr<typename shared_of<Session>::type> shared_
    = std::make_shared<typename shared_of<Session>::type>();

private:
  caf::actor_system& sys_;
  caf::actor target_;
  std::shared_ptr<channel_failure> failure_ = std::make_shared<channel_failure>();
  std::mutex mtx_;
  std::map<std::thread::id, std::unique_ptr<Session>> sessions_;
};

/// Guards the lazy creation of a handle's client (handles that arrived from
/// another process have none yet).
std::mutex& client_creation_mutex();

/// `client`, created for `target` on first use by any thread.
template <class Client>
Client& lazily_made(std::shared_ptr<Client>& client, const caf::actor& target);

} // namespace proctor::internal

#include "proctor/runtime.hpp"

namespace proctor::internal {

template <class Client>
Client& lazily_made(std::shared_ptr<Client>& client, const caf::actor& target) {
  std::lock_guard<std::mutex> guard{client_creation_mutex()};
  if (!client)
    client = std::make_shared<Client>(runtime::current().system(), target);
  return *client;
}

} // namespace proctor::internal
