#include "proctor/runtime.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "proctor/message_type.hpp"
#include "tests/support/ask.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::testing::test_runtime;

using proctor::testing::ask;

namespace {

constexpr auto limit = std::chrono::seconds{30};

caf::behavior echo(caf::event_based_actor*) {
  return {
    [](int x) { return x; },
    [](const std::string& text) { return text + "!"; },
  };
}
PROCTOR_ACTOR(echo);

// Counts messages and checks they arrive in order.
caf::behavior sequence_checker(caf::stateful_actor<int>* self) {
  return {
    [=](caf::atom_value, int n) -> int {
      if (n != self->state)
        return -1;
      ++self->state;
      return n;
    },
    [=](int) { return self->state; },
  };
}
PROCTOR_ACTOR(sequence_checker);

// Given a handle to another actor, asks it and relays the answer.
caf::behavior relay(caf::event_based_actor* self) {
  return {
    [=](caf::actor other, int x) -> caf::result<int> {
      auto rp = self->make_response_promise<int>();
      self->request(other, caf::infinite, x).then([=](int y) mutable { rp.deliver(y + 1); });
      return rp;
    },
  };
}
PROCTOR_ACTOR(relay);

caf::behavior quitter(caf::event_based_actor* self) {
  return {
    [=](int code) { self->quit(code == 0 ? caf::exit_reason::normal
                                         : caf::exit_reason::user_shutdown); },
  };
}
PROCTOR_ACTOR(quitter);

caf::behavior not_registered(caf::event_based_actor*) {
  return {};
}

} // namespace

TEST(remote_actor, request_and_response_across_processes) {
  auto& rt = test_runtime();
  auto server = rt.spawn_in_process(echo);
  caf::scoped_actor self{rt.system()};
  EXPECT_EQ(ask<int>(self, server, 41), 41);
  EXPECT_EQ(ask<std::string>(self, server, std::string{"hi"}), "hi!");
  self->send_exit(server, caf::exit_reason::user_shutdown);
}

TEST(remote_actor, an_unregistered_actor_fails_at_the_call_site) {
  try {
    test_runtime().spawn_in_process(not_registered);
    FAIL() << "expected unregistered_actor";
  } catch (const proctor::error& e) {
    EXPECT_EQ(e.code(), proctor::errc::unregistered_actor);
  }
}

TEST(remote_actor, a_hundred_thousand_messages_arrive_in_order) {
  auto& rt = test_runtime();
  auto checker = rt.spawn_in_process(sequence_checker);
  caf::scoped_actor self{rt.system()};
  constexpr int count = 100000;
  for (int i = 0; i < count; ++i)
    self->send(checker, caf::atom("seq"), i);
  EXPECT_EQ(ask<int>(self, checker, 0), count);
  self->send_exit(checker, caf::exit_reason::user_shutdown);
}

TEST(remote_actor, handles_travel_inside_messages_between_workers) {
  auto& rt = test_runtime();
  auto a = rt.spawn_in_process(relay);
  auto c = rt.spawn_in_process(echo);
  caf::scoped_actor self{rt.system()};
  // The master sends worker A a handle to worker C; A asks C directly.
  EXPECT_EQ(ask<int>(self, a, c, 10), 11);
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send_exit(c, caf::exit_reason::user_shutdown);
}

TEST(remote_actor, a_killed_worker_reports_its_signal_to_monitors_and_requests) {
  auto& rt = test_runtime();
  auto server = rt.spawn_in_process(echo);
  caf::scoped_actor self{rt.system()};
  ASSERT_EQ(ask<int>(self, server, 1), 1);
  self->monitor(server);
  // Find the worker's pid through the proxy's node id and SIGKILL it.
  auto node = to_string(caf::actor_cast<caf::strong_actor_ptr>(server)->node());
  auto pid = std::stoi(node.substr(node.find('#') + 1));
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
  bool got_down = false;
  self->receive(
    [&](caf::down_msg& down) {
      got_down = true;
      EXPECT_EQ(proctor::exitcode_of(down.reason), -9) << rt.system().render(down.reason);
    },
    caf::after(limit) >> [] { ADD_FAILURE() << "no down_msg"; });
  EXPECT_TRUE(got_down);
  // A request to the dead actor fails instead of waiting forever.
  bool failed = false;
  self->request(server, limit, 5).receive([](int) {}, [&](caf::error&) { failed = true; });
  EXPECT_TRUE(failed);
}

TEST(remote_actor, an_actor_that_quits_ends_its_process_and_reports_its_reason) {
  auto& rt = test_runtime();
  auto q = rt.spawn_in_process(quitter);
  caf::scoped_actor self{rt.system()};
  self->monitor(q);
  self->send(q, 1);
  self->receive(
    [&](caf::down_msg& down) {
      EXPECT_EQ(down.reason, caf::make_error(caf::exit_reason::user_shutdown))
        << rt.system().render(down.reason);
    },
    caf::after(limit) >> [] { ADD_FAILURE() << "no down_msg"; });
}

namespace {

struct point {
  int x = 0;
  int y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y);
}

} // namespace

PROCTOR_MESSAGE_TYPE(point);

namespace {

caf::behavior mirrors_points(caf::event_based_actor*) {
  return {[](point p) { return point{p.y, p.x}; }};
}
PROCTOR_ACTOR(mirrors_points);

} // namespace

TEST(remote_actor, registered_user_types_travel_in_messages) {
  auto& rt = test_runtime();
  auto mirror = rt.spawn_in_process(mirrors_points);
  caf::scoped_actor self{rt.system()};
  point result;
  self->request(mirror, limit, point{1, 2})
    .receive([&](point p) { result = p; },
             [&](caf::error& err) { ADD_FAILURE() << rt.system().render(err); });
  EXPECT_EQ(result.x, 2);
  EXPECT_EQ(result.y, 1);
  self->send_exit(mirror, caf::exit_reason::user_shutdown);
}

namespace {

struct not_a_message_type {
  int value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, not_a_message_type& x) {
  return f(caf::meta::type_name("not_a_message_type"), x.value);
}

} // namespace

TEST(remote_actor, an_unregistered_type_fails_the_request_and_not_the_link) {
  auto& rt = test_runtime();
  auto mirror = rt.spawn_in_process(mirrors_points);
  caf::scoped_actor self{rt.system()};
  bool failed = false;
  self->request(mirror, limit, not_a_message_type{7})
    .receive([](point) {}, [&](caf::error&) { failed = true; });
  EXPECT_TRUE(failed);
  point result;
  self->request(mirror, limit, point{3, 4})
    .receive([&](point p) { result = p; },
             [&](caf::error& err) { ADD_FAILURE() << rt.system().render(err); });
  EXPECT_EQ(result.x, 4);
  self->send_exit(mirror, caf::exit_reason::user_shutdown);
}
