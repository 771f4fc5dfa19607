#include "proctor/registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "proctor/runtime.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::errc;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = std::chrono::seconds{30};

caf::behavior tagged(caf::event_based_actor*, int tag) {
  return {[tag](int) { return tag; }};
}
PROCTOR_ACTOR(tagged);

// Registers itself under the name it is sent; answers whereis(name) with
// what the actor found there answers to 0 (its tag; -1: none), and
// unregisters on request.
caf::behavior name_user(caf::event_based_actor* self, int tag) {
  return {
    [self](caf::atom_value op, const std::string& name) -> caf::result<int> {
      try {
        if (op == caf::atom("register")) {
          proctor::register_name(name, caf::actor{self});
          return 0;
        }
        if (op == caf::atom("drop")) {
          proctor::unregister(name);
          return 0;
        }
        auto found = proctor::whereis(name);
        if (!found)
          return -1;
        auto rp = self->make_response_promise<int>();
        self->request(found, limit, 0)
          .then([rp](int tag) mutable { rp.deliver(tag); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      } catch (const proctor::error& e) {
        return -100 - static_cast<int>(e.code());
      }
    },
    [tag](int) { return tag; },
  };
}
PROCTOR_ACTOR(name_user);

int ask_int(caf::scoped_actor& self, const caf::actor& dest, auto... xs) {
  int result = -999;
  self->request(dest, limit, xs...)
    .receive([&](int x) { result = x; },
             [&](caf::error& err) { ADD_FAILURE() << self->system().render(err); });
  return result;
}

caf::error ask_error(caf::scoped_actor& self, const caf::actor& dest, int x) {
  caf::error failure;
  self->request(dest, limit, x)
    .receive([&](int) { ADD_FAILURE() << "expected an error"; },
             [&](caf::error& err) { failure = std::move(err); });
  return failure;
}

/// Waits (bounded) until `name` is bound to nothing.
bool becomes_unbound(const std::string& name) {
  return proctor::testing::eventually([&] { return !proctor::whereis(name); });
}

} // namespace

TEST(registry, a_name_binds_is_found_and_is_dropped) {
  auto& rt = test_runtime();
  auto actor = rt.system().spawn(tagged, 7);
  EXPECT_FALSE(proctor::whereis("registry.basic"));
  proctor::register_name("registry.basic", actor);
  EXPECT_EQ(proctor::whereis("registry.basic"), actor);
  proctor::register_name("registry.basic", actor); // the same actor again: fine
  proctor::unregister("registry.basic");
  EXPECT_FALSE(proctor::whereis("registry.basic"));
  EXPECT_EQ(error_of([] { proctor::unregister("registry.basic"); }), errc::not_registered);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(registry, bad_input_is_refused) {
  auto& rt = test_runtime();
  auto actor = rt.system().spawn(tagged, 1);
  EXPECT_EQ(error_of([&] { proctor::register_name("", actor); }), errc::bad_argument);
  EXPECT_EQ(error_of([] { proctor::register_name("registry.bad", caf::actor{}); }),
            errc::bad_argument);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(registry, a_name_is_dropped_when_its_actor_ends) {
  auto& rt = test_runtime();
  auto actor = rt.system().spawn(tagged, 1);
  proctor::register_name("registry.dies", actor);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  EXPECT_TRUE(becomes_unbound("registry.dies"));
  // ... and the name is free again.
  auto next = rt.system().spawn(tagged, 2);
  proctor::register_name("registry.dies", next);
  EXPECT_EQ(proctor::whereis("registry.dies"), next);
  caf::anon_send_exit(next, caf::exit_reason::user_shutdown);
}

TEST(registry, of_concurrent_registrations_of_one_name_exactly_one_succeeds) {
  auto& rt = test_runtime();
  constexpr int contenders = 8;
  std::vector<caf::actor> actors;
  for (int i = 0; i < contenders; ++i)
    actors.push_back(rt.system().spawn(tagged, i));
  std::atomic<int> won{0};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < contenders; ++i)
    threads.emplace_back([&, i] {
      try {
        proctor::register_name("registry.race", actors[i]);
        ++won;
      } catch (const proctor::error& e) {
        if (e.code() == errc::name_taken)
          ++taken;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(taken.load(), contenders - 1);
  proctor::unregister("registry.race");
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST(registry, workers_bind_and_find_names_that_every_process_sees) {
  auto& rt = test_runtime();
  caf::scoped_actor self{rt.system()};
  auto a = rt.spawn_in_process(name_user, 11);
  auto b = rt.spawn_in_process(name_user, 22);
  // A worker binds; the master and another worker find it.
  ASSERT_EQ(ask_int(self, a, caf::atom("register"), std::string{"registry.worker"}), 0);
  auto found = proctor::whereis("registry.worker");
  ASSERT_TRUE(found);
  EXPECT_EQ(ask_int(self, found, 0), 11);
  EXPECT_EQ(ask_int(self, b, caf::atom("whereis"), std::string{"registry.worker"}), 11);
  // The name is taken for the other worker, in proctor's error.
  EXPECT_EQ(ask_int(self, b, caf::atom("register"), std::string{"registry.worker"}),
            -100 - static_cast<int>(errc::name_taken));
  // A name the master bound is seen in a worker.
  auto local = rt.system().spawn(tagged, 33);
  proctor::register_name("registry.master", local);
  EXPECT_EQ(ask_int(self, b, caf::atom("whereis"), std::string{"registry.master"}), 33);
  EXPECT_EQ(ask_int(self, b, caf::atom("whereis"), std::string{"registry.none"}), -1);
  // A worker drops a name; dropping it twice is not_registered.
  EXPECT_EQ(ask_int(self, a, caf::atom("drop"), std::string{"registry.worker"}), 0);
  EXPECT_EQ(ask_int(self, a, caf::atom("drop"), std::string{"registry.worker"}),
            -100 - static_cast<int>(errc::not_registered));
  proctor::unregister("registry.master");
  caf::anon_send_exit(local, caf::exit_reason::user_shutdown);
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send_exit(b, caf::exit_reason::user_shutdown);
}

TEST(registry, a_name_bound_in_a_killed_worker_is_dropped) {
  auto& rt = test_runtime();
  caf::scoped_actor self{rt.system()};
  auto a = rt.spawn_in_process(name_user, 5);
  ASSERT_EQ(ask_int(self, a, caf::atom("register"), std::string{"registry.killed"}), 0);
  ASSERT_TRUE(proctor::whereis("registry.killed"));
  self->monitor(a);
  auto pid = ask_int(self, a, 0); // any answer: it runs
  EXPECT_EQ(pid, 5);
  for (auto& child : proctor::internal::impl_of(rt).live_children())
    if (child->name == "ActorHost-name_user")
      child->signal(SIGKILL);
  EXPECT_TRUE(becomes_unbound("registry.killed"));
}

TEST(registry, a_send_through_named_reaches_whatever_is_bound_when_it_arrives) {
  auto& rt = test_runtime();
  caf::scoped_actor self{rt.system()};
  auto via = proctor::named("registry.named");
  auto err = ask_error(self, via, 0);
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(errc::not_registered));
  auto first = rt.system().spawn(tagged, 1);
  proctor::register_name("registry.named", first);
  EXPECT_EQ(ask_int(self, via, 0), 1);
  proctor::unregister("registry.named");
  auto second = rt.spawn_in_process(tagged, 2);
  proctor::register_name("registry.named", second);
  EXPECT_EQ(ask_int(self, via, 0), 2);
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  self->send_exit(second, caf::exit_reason::user_shutdown);
}

TEST(registry, actor_arguments_that_do_not_decode_are_refused_by_the_worker) {
  auto& impl = proctor::internal::impl_of(test_runtime());
  auto child = impl.start_child(false, "ActorHost-bad-args");
  EXPECT_EQ(error_of([&] { impl.spawn_in(*child, "tagged", std::string{"\x01", 1}); }),
            errc::bad_argument);
  child->signal(SIGKILL);
}
