// Supervisors: strategies, restart types, intensity and escalation, backoff.
#include "proctor/supervisor.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "proctor/registry.hpp"
#include "proctor/runtime.hpp"
#include "tests/runtime/supervision/supervision_helpers.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using namespace proctor;
using namespace proctor::testing;

namespace {

supervisor_spec three_children(strategy how, placement where = placement::here()) {
  supervisor_spec spec;
  spec.strategy = how;
  spec.intensity = 10;
  spec.period = 60s;
  int tag = 1;
  for (auto id : {"a", "b", "c"}) {
    auto child = child_spec::actor(id, supervised_worker, tag++);
    child.where = where;
    spec.children.push_back(child);
  }
  return spec;
}

std::vector<caf::actor> actors_of(supervisor& sup) {
  std::vector<caf::actor> out;
  for (auto& child : sup.which_children())
    out.push_back(child.actor);
  return out;
}

} // namespace

TEST(supervisor, one_for_one_restarts_only_the_child_that_crashed) {
  auto& rt = test_runtime();
  supervisor sup{rt, three_children(strategy::one_for_one), "o4o"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto before = actors_of(sup);
  ASSERT_TRUE(crash(self, log, before[1], "b"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "b"));
  auto after = actors_of(sup);
  EXPECT_EQ(after[0], before[0]);
  EXPECT_NE(after[1], before[1]);
  EXPECT_EQ(after[2], before[2]);
  EXPECT_EQ(ask_tag(self, after[1]), 2);
  auto crashed = log.events();
  auto it = std::find_if(crashed.begin(), crashed.end(),
                         [](auto& e) { return e.kind == supervisor_event::crashed; });
  ASSERT_NE(it, crashed.end());
  EXPECT_NE(it->reason.find("std::runtime_error: boom"), std::string::npos) << it->reason;
  EXPECT_EQ(sup.which_children()[1].restarts, 1u);
}

TEST(supervisor, one_for_all_restarts_every_child_stopping_the_others_right_to_left) {
  auto& rt = test_runtime();
  supervisor sup{rt, three_children(strategy::one_for_all), "o4a"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto before = actors_of(sup);
  ASSERT_TRUE(crash(self, log, before[1], "b"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 3));
  auto after = actors_of(sup);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NE(after[i], before[i]) << i;
  EXPECT_EQ(log.sequence({supervisor_event::crashed, supervisor_event::terminated,
                          supervisor_event::restarted}),
            (std::vector<std::string>{"crashed b", "terminated c", "terminated a", "restarted a",
                                      "restarted b", "restarted c"}));
}

TEST(supervisor, rest_for_one_restarts_the_child_and_those_started_after_it) {
  auto& rt = test_runtime();
  supervisor sup{rt, three_children(strategy::rest_for_one), "r41"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto before = actors_of(sup);
  ASSERT_TRUE(crash(self, log, before[1], "b"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 2));
  auto after = actors_of(sup);
  EXPECT_EQ(after[0], before[0]);
  EXPECT_NE(after[1], before[1]);
  EXPECT_NE(after[2], before[2]);
  EXPECT_EQ(log.sequence({supervisor_event::terminated, supervisor_event::restarted}),
            (std::vector<std::string>{"terminated c", "restarted b", "restarted c"}));
}

TEST(supervisor, strategies_hold_for_children_in_processes_of_their_own) {
  auto& rt = test_runtime();
  supervisor sup{rt, three_children(strategy::rest_for_one, placement::in_own_process()), "proc"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto children = sup.which_children();
  ASSERT_EQ(children.size(), 3u);
  for (auto& child : children)
    EXPECT_GT(child.pid, 0);
  ::kill(children[1].pid, SIGKILL);
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 2));
  auto crashed = log.events();
  auto it = std::find_if(crashed.begin(), crashed.end(),
                         [](auto& e) { return e.kind == supervisor_event::crashed; });
  ASSERT_NE(it, crashed.end());
  EXPECT_EQ(it->child, "b");
  EXPECT_EQ(it->exitcode, -SIGKILL);
  auto after = sup.which_children();
  EXPECT_EQ(after[0].pid, children[0].pid);
  EXPECT_NE(after[1].pid, children[1].pid);
  EXPECT_NE(after[2].pid, children[2].pid);
  EXPECT_EQ(ask_tag(self, after[1].actor), 2);
  EXPECT_EQ(ask_tag(self, after[2].actor), 3);
}

TEST(supervisor, simple_one_for_one_starts_children_at_run_time_and_restarts_each_alone) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.strategy = strategy::simple_one_for_one;
  spec.intensity = 5;
  spec.children.push_back(child_spec::actor("session", supervised_worker, 0));
  supervisor sup{rt, spec, "sessions"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto first = sup.start_child(supervised_worker, 10);
  auto second = sup.start_child(supervised_worker, 20);
  EXPECT_EQ(ask_tag(self, first), 10);
  EXPECT_EQ(ask_tag(self, second), 20);
  ASSERT_EQ(sup.count_children().active, 2u);
  ASSERT_TRUE(crash(self, log, second, "session#2"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "session#2"));
  EXPECT_EQ(actor_of(sup, "session#1"), first);
  EXPECT_EQ(ask_tag(self, actor_of(sup, "session#2")), 20); // its own arguments again
  sup.terminate_child("session#1");
  EXPECT_EQ(sup.count_children().specs, 1u); // a dynamic child's spec goes with it
  try {
    sup.start_child(stubborn_worker, 1);
    ADD_FAILURE() << "expected bad_argument: not the template's actor";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::bad_argument);
  }
}

TEST(supervisor, transient_temporary_and_permanent_children_follow_their_restart_type) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.intensity = 10;
  for (auto [id, type] : {std::pair{"perm", restart::permanent},
                          std::pair{"trans", restart::transient},
                          std::pair{"temp", restart::temporary}}) {
    auto child = child_spec::actor(id, supervised_worker, 1);
    child.restart = type;
    spec.children.push_back(child);
  }
  supervisor sup{rt, spec, "types"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  // A normal end: only the permanent child comes back.
  self->send(actor_of(sup, "perm"), caf::atom("quit"));
  self->send(actor_of(sup, "trans"), caf::atom("quit"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "perm"));
  ASSERT_TRUE(log.wait_for(supervisor_event::exited, 1, "trans"));
  auto trans = sup.which_children()[1];
  EXPECT_EQ(trans.state, child_info::terminated);
  // A crash brings the transient child back, once restarted by hand.
  auto restarted = sup.restart_child("trans");
  ASSERT_TRUE(crash(self, log, restarted, "trans"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "trans"));
  // A crashed temporary child is dropped.
  ASSERT_TRUE(crash(self, log, actor_of(sup, "temp"), "temp"));
  ASSERT_TRUE(log.wait_until([&](auto&) { return sup.count_children().specs == 2; }));
  EXPECT_FALSE(actor_of(sup, "temp"));
}

/// Waits until `name` is bound to an actor other than `old`.
caf::actor rebound(const std::string& name, const caf::actor& old) {
  caf::actor now;
  eventually([&] {
    now = whereis(name);
    return now && now != old;
  });
  return now && now != old ? now : caf::actor{};
}

TEST(supervisor, beyond_its_intensity_a_supervisor_gives_up_and_escalates_to_the_top) {
  auto& rt = test_runtime();
  supervisor_spec inner;
  inner.intensity = 1;
  auto flaky = child_spec::actor("flaky", supervised_worker, 1);
  flaky.name = "escalate.flaky";
  inner.children.push_back(flaky);
  supervisor_spec top;
  top.intensity = 0; // the first failure below ends the tree
  top.children.push_back(child_spec::actor("steady", supervised_worker, 2));
  top.children.push_back(child_spec::supervisor("inner", inner));
  supervisor sup{rt, top, "app"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  self->monitor(actor_of(sup, "steady"));
  // Two crashes within the period: one restart is allowed; the second ends
  // "inner", and its end ends "app".
  auto first = whereis("escalate.flaky");
  ASSERT_TRUE(crash(self, log, first, "flaky"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "flaky"));
  auto second = rebound("escalate.flaky", first);
  ASSERT_TRUE(second);
  self->send(second, caf::atom("crash"));
  ASSERT_TRUE(sup.wait(30s));
  EXPECT_EQ(sup.exit_code(), errc::supervisor_gave_up);
  EXPECT_NE(sup.reason_text().find("inner"), std::string::npos) << sup.reason_text();
  EXPECT_EQ(log.sequence({supervisor_event::gave_up}),
            (std::vector<std::string>{"gave_up ", "gave_up "}));
  auto events = log.events();
  std::vector<std::string> givers;
  for (auto& e : events)
    if (e.kind == supervisor_event::gave_up)
      givers.push_back(e.supervisor);
  EXPECT_EQ(givers, (std::vector<std::string>{"app/inner", "app"}));
  // No child outlives the tree.
  bool steady_down = false;
  self->receive([&](caf::down_msg&) { steady_down = true; }, caf::after(30s) >> [] {});
  EXPECT_TRUE(steady_down);
  auto now = whereis("escalate.flaky"); // nothing new is bound
  EXPECT_TRUE(!now || now == second);
}

TEST(supervisor, backoff_spaces_restarts_doubling_up_to_its_maximum) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.intensity = 10;
  spec.period = 60s;
  spec.backoff = backoff{10ms, 40ms, 0.0, 1h};
  auto child = child_spec::actor("w", supervised_worker, 1);
  child.name = "backoff.w";
  spec.children.push_back(child);
  supervisor sup{rt, spec, "backoff"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto current = whereis("backoff.w");
  for (std::size_t n = 1; n <= 4; ++n) {
    ASSERT_TRUE(crash(self, log, current, "w"));
    ASSERT_TRUE(log.wait_for(supervisor_event::restarted, n, "w"));
    current = rebound("backoff.w", current);
    ASSERT_TRUE(current);
  }
  auto delays = log.restart_delays();
  EXPECT_EQ(delays, (std::vector<long>{10, 20, 40, 40}));
  EXPECT_EQ(ask_tag(self, current), 1);
}

TEST(supervisor, backoff_starts_counting_again_after_a_quiet_period) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.intensity = 10;
  spec.period = 60s;
  spec.backoff = backoff{10ms, 40ms, 0.0, 5ms};
  auto child = child_spec::actor("w", supervised_worker, 1);
  child.name = "backoff.quiet";
  spec.children.push_back(child);
  supervisor sup{rt, spec, "quiet"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto current = whereis("backoff.quiet");
  for (std::size_t n = 1; n <= 2; ++n) {
    ASSERT_TRUE(crash(self, log, current, "w"));
    ASSERT_TRUE(log.wait_for(supervisor_event::restarted, n, "w"));
    current = rebound("backoff.quiet", current);
    ASSERT_TRUE(current);
    std::this_thread::sleep_for(20ms); // longer than reset_after: quiet
  }
  auto delays = log.restart_delays();
  EXPECT_EQ(delays, (std::vector<long>{10, 10}));
}

TEST(supervisor, a_process_child_that_exits_reports_its_exit_code) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  auto child = child_spec::actor("p", supervised_worker, 1);
  child.where = placement::in_own_process();
  spec.children.push_back(child);
  supervisor sup{rt, spec, "exits"};
  event_log log{sup};
  caf::anon_send(actor_of(sup, "p"), caf::atom("exit"));
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "p"));
  auto events = log.events();
  auto it = std::find_if(events.begin(), events.end(),
                         [](auto& e) { return e.kind == supervisor_event::crashed; });
  ASSERT_NE(it, events.end());
  EXPECT_EQ(it->exitcode, 3);
  EXPECT_EQ(it->reason, "exit code 3");
}
