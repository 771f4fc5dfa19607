// Locks, semaphores and events as actors: waiters are served in arrival
// order, and the permits of a holder whose process dies come back, flagged
// so the next acquirer can tell.
#include "actors/sync/sync_actor.hpp"

#include <deque>
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/errors.hpp"
#include "proctor/errc.hpp"

namespace proctor::internal {

namespace {

caf::error timed_out() {
  return make_caf_error(errc::timeout, "proctor: acquire timed out");
}

caf::error not_held() {
  return make_caf_error(errc::invalid_state, "proctor: release of a lock or semaphore not "
                                             "held (or released too many times)");
}

/// Who holds or wants permits: a client actor and one of its threads.
struct holder_id {
  caf::actor_addr client;
  std::uint64_t thread = 0;

  friend bool operator<(const holder_id& x, const holder_id& y) {
    return std::tie(x.client, x.thread) < std::tie(y.client, y.thread);
  }
};

struct waiter {
  std::uint64_t id;
  holder_id who;
  caf::response_promise promise;
};

struct sync_state {
  // Not an aggregate: CAF would otherwise construct it from the actor
  // pointer (C++20 parenthesized aggregate init), e.g. a bool member = true.
  sync_state() = default;

  sync_kind kind = sync_kind::lock;
  std::int64_t permits = 1;   ///< free permits
  std::int64_t bound = 1;     ///< initial permits
  std::map<holder_id, std::int64_t> held; ///< permits (or rlock depth) per holder
  std::deque<waiter> waiters;
  std::set<caf::actor_addr> watched;
  std::uint64_t next_id = 1;
  bool holder_died = false; ///< told to the next acquirer, then cleared

  static inline const char* name = "proctor.sync";
};

using sync_actor = caf::stateful_actor<sync_state>;

void grant(sync_actor* self, const holder_id& who, caf::response_promise& rp) {
  auto& st = self->state;
  --st.permits;
  ++st.held[who];
  rp.deliver(st.holder_died);
  st.holder_died = false;
}

void serve_waiters(sync_actor* self) {
  auto& st = self->state;
  while (st.permits > 0 && !st.waiters.empty()) {
    auto w = std::move(st.waiters.front());
    st.waiters.pop_front();
    grant(self, w.who, w.promise);
  }
}

caf::behavior sync_behavior(sync_actor* self, sync_kind kind, std::int64_t permits) {
  auto& st = self->state;
  st.kind = kind;
  st.permits = permits;
  st.bound = permits;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    st.watched.erase(msg.source);
    std::erase_if(st.waiters, [&](auto& w) { return w.who.client == msg.source; });
    for (auto i = st.held.begin(); i != st.held.end();) {
      if (i->first.client == msg.source) {
        st.permits += st.kind == sync_kind::rlock ? 1 : i->second;
        st.holder_died = true;
        i = st.held.erase(i);
      } else {
        ++i;
      }
    }
    serve_waiters(self);
  });
  return {
    [=](acquire_atom, std::int64_t timeout_ms,
        std::uint64_t thread) -> caf::result<bool> {
      auto& st = self->state;
      holder_id who{caf::actor_cast<caf::actor_addr>(self->current_sender()), thread};
      if (auto sender = self->current_sender();
          sender && st.watched.insert(who.client).second)
        self->monitor(sender);
      if (st.kind == sync_kind::rlock) {
        if (auto i = st.held.find(who); i != st.held.end()) {
          ++i->second; // re-entry
          return false;
        }
      }
      auto rp = self->make_response_promise();
      if (st.permits > 0 && st.waiters.empty()) {
        grant(self, who, rp);
        return rp;
      }
      if (timeout_ms == 0) {
        rp.deliver(timed_out());
        return rp;
      }
      auto id = st.next_id++;
      st.waiters.push_back({id, who, rp});
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms},
                           expire_wait_atom::value, id);
      return rp;
    },
    [=](release_atom, std::uint64_t thread) -> caf::result<void> {
      auto& st = self->state;
      holder_id who{caf::actor_cast<caf::actor_addr>(self->current_sender()), thread};
      switch (st.kind) {
        case sync_kind::rlock: {
          auto i = st.held.find(who);
          if (i == st.held.end())
            return not_held(); // Python: "cannot release un-acquired lock"
          if (--i->second > 0)
            return caf::unit;
          st.held.erase(i);
          ++st.permits;
          break;
        }
        case sync_kind::lock:
          if (st.permits > 0)
            return not_held(); // releasing an unlocked lock
          // Any holder's permit: Python lets any thread release a Lock.
          if (auto i = st.held.find(who); i != st.held.end()) {
            if (--i->second == 0)
              st.held.erase(i);
          } else if (!st.held.empty()) {
            auto j = st.held.begin();
            if (--j->second == 0)
              st.held.erase(j);
          }
          ++st.permits;
          break;
        case sync_kind::bounded_semaphore:
          if (st.permits >= st.bound)
            return not_held(); // Python: "Semaphore released too many times"
          [[fallthrough]];
        case sync_kind::semaphore:
          if (auto i = st.held.find(who); i != st.held.end()) {
            if (--i->second == 0)
              st.held.erase(i);
          }
          ++st.permits;
          break;
      }
      serve_waiters(self);
      return caf::unit;
    },
    [=](value_atom) {
      return self->state.permits;
    },
    [=](expire_wait_atom, std::uint64_t id) {
      auto& ws = self->state.waiters;
      for (auto i = ws.begin(); i != ws.end(); ++i)
        if (i->id == id) {
          i->promise.deliver(timed_out());
          ws.erase(i);
          return;
        }
    },
  };
}

struct event_state {
  // Not an aggregate: CAF would otherwise construct it from the actor
  // pointer (C++20 parenthesized aggregate init), e.g. a bool member = true.
  event_state() = default;

  bool flag = false;
  std::map<std::uint64_t, caf::response_promise> waiters;
  std::uint64_t next_id = 1;

  static inline const char* name = "proctor.event";
};

using event_actor = caf::stateful_actor<event_state>;

caf::behavior event_behavior(event_actor* self) {
  return {
    [=](set_atom) {
      auto& st = self->state;
      st.flag = true;
      for (auto& [id, rp] : st.waiters)
        rp.deliver(true);
      st.waiters.clear();
    },
    [=](clear_atom) {
      self->state.flag = false;
    },
    [=](is_set_atom) {
      return self->state.flag;
    },
    [=](wait_atom, std::int64_t timeout_ms) -> caf::result<bool> {
      auto& st = self->state;
      if (st.flag || timeout_ms == 0)
        return st.flag;
      auto rp = self->make_response_promise<bool>();
      auto id = st.next_id++;
      st.waiters.emplace(id, rp);
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms},
                           expire_wait_atom::value, id);
      return rp;
    },
    [=](expire_wait_atom, std::uint64_t id) {
      auto& st = self->state;
      if (auto i = st.waiters.find(id); i != st.waiters.end()) {
        i->second.deliver(false);
        st.waiters.erase(i);
      }
    },
  };
}

} // namespace

caf::actor spawn_sync(caf::actor_system& sys, sync_kind kind, std::int64_t permits) {
  return sys.spawn(sync_behavior, kind, permits);
}

caf::actor spawn_event(caf::actor_system& sys) {
  // One unused argument: CAF 0.17 spawns a function without arguments
  // through a null shared_ptr.
  return sys.spawn([](event_actor* self, int) { return event_behavior(self); }, 0);
}

} // namespace proctor::internal
