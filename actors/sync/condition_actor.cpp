// Condition variables and barriers as actors. The lock of a condition is an
// ordinary lock actor; this one keeps the waiters. A waiter or party whose
// process dies is dropped (a condition) or breaks the barrier, so nobody
// waits for it forever.
#include "actors/sync/condition_actor.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
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

using expire_atom = caf::atom_constant<caf::atom("c_expire")>; // uint64 id (internal)

caf::error broken() {
  return make_caf_error(errc::broken_barrier, "proctor: the barrier is broken");
}

/// Monitors `who` once, so that its death reaches the down handler.
template <class State>
void watch(caf::stateful_actor<State>* self, const caf::strong_actor_ptr& who) {
  if (who && self->state.watched.emplace(caf::actor_cast<caf::actor_addr>(who)).second)
    self->monitor(who);
}

// -- condition ------------------------------------------------------------------

struct condition_waiter {
  caf::actor_addr client;
  bool notified = false;
  std::optional<caf::response_promise> awaiting; ///< set once it awaits
};

struct condition_state {
  condition_state() = default; // not an aggregate (see queue_state)

  std::map<std::uint64_t, condition_waiter> waiters; ///< in order of entry
  std::set<caf::actor_addr> watched;
  std::uint64_t next_id = 1;

  static inline const char* name = "proctor.condition";
};

using condition_actor = caf::stateful_actor<condition_state>;

caf::behavior condition_behavior(condition_actor* self) {
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    st.watched.erase(msg.source);
    std::erase_if(st.waiters, [&](auto& w) { return w.second.client == msg.source; });
  });
  return {
    [=](enter_atom) {
      auto& st = self->state;
      watch(self, self->current_sender());
      auto id = st.next_id++;
      st.waiters.emplace(id, condition_waiter{
                               caf::actor_cast<caf::actor_addr>(self->current_sender())});
      return id;
    },
    [=](await_atom, std::uint64_t id, std::int64_t timeout_ms) -> caf::result<bool> {
      auto& st = self->state;
      auto i = st.waiters.find(id);
      if (i == st.waiters.end())
        return false;
      if (i->second.notified) {
        st.waiters.erase(i);
        return true;
      }
      if (timeout_ms == 0) {
        st.waiters.erase(i);
        return false;
      }
      auto rp = self->make_response_promise<bool>();
      i->second.awaiting = rp;
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      return rp;
    },
    [=](leave_atom, std::uint64_t id) {
      self->state.waiters.erase(id);
    },
    [=](notify_atom, std::int64_t n) {
      auto& st = self->state;
      std::uint64_t woken = 0;
      for (auto i = st.waiters.begin();
           i != st.waiters.end() && (n < 0 || woken < static_cast<std::uint64_t>(n));) {
        if (i->second.notified) {
          ++i;
          continue;
        }
        ++woken;
        if (i->second.awaiting) {
          i->second.awaiting->deliver(true);
          i = st.waiters.erase(i);
        } else {
          i->second.notified = true; // entered, not awaiting yet
          ++i;
        }
      }
      return woken;
    },
    [=](expire_atom, std::uint64_t id) {
      auto& st = self->state;
      if (auto i = st.waiters.find(id); i != st.waiters.end() && i->second.awaiting) {
        i->second.awaiting->deliver(false);
        st.waiters.erase(i);
      }
    },
  };
}

// -- barrier --------------------------------------------------------------------

struct barrier_party {
  std::uint64_t id;
  caf::actor_addr client;
  std::int64_t index;
  caf::response_promise promise;
};

struct barrier_state {
  barrier_state() = default; // not an aggregate (see queue_state)

  std::int64_t parties = 1;
  bool has_action = false;
  bool broken = false;
  std::deque<barrier_party> waiting;
  /// The party that tripped the barrier and runs its action meanwhile.
  std::optional<caf::actor_addr> running_action;
  std::set<caf::actor_addr> watched;
  std::uint64_t next_id = 1;

  static inline const char* name = "proctor.barrier";
};

using barrier_actor = caf::stateful_actor<barrier_state>;

/// Breaks the barrier: every waiting party fails.
void break_barrier(barrier_actor* self) {
  auto& st = self->state;
  st.broken = true;
  st.running_action.reset();
  for (auto& p : st.waiting)
    p.promise.deliver(broken());
  st.waiting.clear();
}

/// Lets every waiting party go, each with its index: a new cycle begins.
void release_all(barrier_actor* self) {
  auto& st = self->state;
  st.running_action.reset();
  for (auto& p : st.waiting)
    p.promise.deliver(p.index, false);
  st.waiting.clear();
}

caf::behavior barrier_behavior(barrier_actor* self, std::int64_t parties, bool has_action) {
  self->state.parties = parties;
  self->state.has_action = has_action;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    st.watched.erase(msg.source);
    bool involved = st.running_action == msg.source
                    || std::any_of(st.waiting.begin(), st.waiting.end(),
                                   [&](auto& p) { return p.client == msg.source; });
    if (involved) {
      // Its process died at the barrier: the others would wait for ever.
      std::erase_if(st.waiting, [&](auto& p) { return p.client == msg.source; });
      break_barrier(self);
    }
  });
  return {
    [=](arrive_atom, std::int64_t timeout_ms) -> caf::result<std::int64_t, bool> {
      auto& st = self->state;
      if (st.broken || st.running_action)
        return broken();
      watch(self, self->current_sender());
      auto client = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto index = static_cast<std::int64_t>(st.waiting.size());
      if (index + 1 == st.parties) {
        if (st.has_action) {
          st.running_action = client;
          return {index, true};
        }
        release_all(self);
        return {index, false};
      }
      if (timeout_ms == 0) {
        break_barrier(self); // Python: a wait that cannot wait breaks it
        return broken();
      }
      auto rp = self->make_response_promise();
      auto id = st.next_id++;
      st.waiting.push_back({id, client, index, rp});
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{timeout_ms}, expire_atom::value, id);
      return rp;
    },
    [=](action_done_atom, bool succeeded) -> caf::result<void> {
      auto& st = self->state;
      if (st.running_action != caf::actor_cast<caf::actor_addr>(self->current_sender()))
        return broken(); // reset or broken meanwhile
      if (!succeeded) {
        break_barrier(self);
        return broken();
      }
      release_all(self);
      return caf::unit;
    },
    [=](reset_atom) {
      // Python: the parties waiting now fail; the barrier is whole again.
      break_barrier(self);
      self->state.broken = false;
    },
    [=](abort_atom) {
      break_barrier(self);
    },
    [=](state_atom) {
      auto& st = self->state;
      return std::make_tuple(static_cast<std::int64_t>(st.waiting.size()), st.broken);
    },
    [=](expire_atom, std::uint64_t id) {
      // A party's timeout breaks the barrier for all, as in Python.
      auto& st = self->state;
      if (std::any_of(st.waiting.begin(), st.waiting.end(), [&](auto& p) { return p.id == id; }))
        break_barrier(self);
    },
  };
}

} // namespace

caf::actor spawn_condition(caf::actor_system& sys) {
  // One unused argument: CAF 0.17 spawns a function without arguments
  // through a null shared_ptr.
  return sys.spawn([](condition_actor* self, int) { return condition_behavior(self); }, 0);
}

caf::actor spawn_barrier(caf::actor_system& sys, std::int64_t parties, bool has_action) {
  return sys.spawn(barrier_behavior, parties, has_action);
}

} // namespace proctor::internal
