#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include <caf/actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/errors.hpp"
#include "proctor/errc.hpp"
#include "runtime/core/errors.hpp"

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

  // Requests wait for their reply. An error the actor answers with is
  // thrown as its proctor exception (throw_error); the loss of the actor,
  // or of the link or process it lived behind, is owner_gone, for this call
  // and every later one.

  /// Sends a request and waits for its one-value reply.
  template <class R, class... Ts>
  R ask(Ts&&... xs) {
    check();
    std::optional<R> result;
    self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](R& x) { result = std::move(x); }, [&](caf::error& err) { failed(err); });
    return std::move(*result);
  }

  /// Sends a request and waits for its two-value reply.
  template <class R1, class R2, class... Ts>
  std::tuple<R1, R2> ask2(Ts&&... xs) {
    check();
    std::optional<std::tuple<R1, R2>> result;
    self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](R1& x, R2& y) { result.emplace(std::move(x), std::move(y)); },
               [&](caf::error& err) { failed(err); });
    return std::move(*result);
  }

  /// Sends a request and waits until it is done.
  template <class... Ts>
  void ask_done(Ts&&... xs) {
    check();
    self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& err) { failed(err); });
  }

  /// A request failed with `err`: the actor's answer, or its loss.
  [[noreturn]] void failed(const caf::error& err) {
    if (!means_actor_gone(err))
      throw_error(static_cast<errc>(err.code()), detail_of(err));
    fail(err);
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
#include <vector>

#include "runtime/core/thread_exit.hpp"

namespace proctor::internal {

/// A thread's session with a channel actor that error messages call `What`
/// ("the lock's owner is gone").
template <const char* What>
class named_session : public actor_client {
public:
  named_session(caf::actor_system& sys, caf::actor target,
                std::shared_ptr<channel_failure> failure)
    : actor_client(sys, std::move(target), What, std::move(failure)) {
  }
};

/// One Session per running thread: a thread blocked in one call (a get, an
/// acquire) never holds up another thread using the same handle. A thread's
/// session goes back to the handle when the thread ends, for the next new
/// thread to use, so sessions number at most the threads that ran at once.
/// Who holds a lock is (session, thread_serial()): a later thread never
/// inherits what an ended one held.
template <class Session>
class per_thread {
public:
  per_thread(caf::actor_system& sys, caf::actor target)
    : sys_(sys), target_(std::move(target)) {
  }

  Session& mine() {
    auto serial = thread_serial();
    std::lock_guard<std::mutex> guard{sessions_->mtx};
    auto& session = sessions_->by_thread[serial];
    if (!session) {
      if (!sessions_->idle.empty()) {
        session = std::move(sessions_->idle.back());
        sessions_->idle.pop_back();
      } else if constexpr (requires { typename Session::shared_state; }) {
        session = std::make_unique<Session>(sys_, target_, failure_, shared_);
      } else {
        session = std::make_unique<Session>(sys_, target_, failure_);
      }
      at_thread_exit([weak = std::weak_ptr<sessions>{sessions_}, serial] {
        if (auto all = weak.lock()) {
          std::lock_guard<std::mutex> guard{all->mtx};
          if (auto i = all->by_thread.find(serial); i != all->by_thread.end()) {
            all->idle.push_back(std::move(i->second));
            all->by_thread.erase(i);
          }
        }
      });
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

  struct sessions {
    std::mutex mtx;
    std::map<std::uint64_t, std::unique_ptr<Session>> by_thread;
    std::vector<std::unique_ptr<Session>> idle; ///< of threads that ended
  };
  /// Shared with the exit hooks of the threads that used this handle.
  std::shared_ptr<sessions> sessions_ = std::make_shared<sessions>();
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
