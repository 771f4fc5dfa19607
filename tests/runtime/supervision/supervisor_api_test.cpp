// Supervisors: start and shutdown, the calls of the handle, names that
// follow restarts, auto_shutdown, and a tree that dies with its process.
#include "proctor/supervisor.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "proctor/registry.hpp"
#include "proctor/runtime.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "tests/runtime/supervision/supervision_helpers.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using namespace proctor;
using namespace proctor::testing;

namespace {

/// Whether process `pid` has ended (gone, or a zombie), waited for with a bound.
bool process_ends(int pid) {
  return eventually([pid] {
    if (::kill(pid, 0) != 0)
      return true;
    std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
    std::string skip, state;
    stat >> skip >> skip >> state;
    return state == "Z";
  });
}

} // namespace

TEST(supervisor_api, a_child_that_fails_to_start_stops_those_started_before_it) {
  auto& rt = test_runtime();
  auto squatter = rt.system().spawn(supervised_worker, 0);
  register_name("rollback.taken", squatter);
  supervisor_spec spec;
  spec.children.push_back(child_spec::actor("first", supervised_worker, 1));
  spec.children.push_back(child_spec::actor("second", supervised_worker, 2));
  spec.children[1].where = placement::in_own_process();
  auto third = child_spec::actor("third", supervised_worker, 3);
  third.name = "rollback.taken"; // registering it fails
  spec.children.push_back(third);
  try {
    supervisor sup{rt, spec, "rollback"};
    ADD_FAILURE() << "expected start_failed";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::start_failed);
    EXPECT_NE(std::string{e.what()}.find("third"), std::string::npos) << e.what();
  }
  // Nothing of it is left: the worker process of "second" ends.
  auto any_left = [&] {
    for (auto& child : internal::impl_of(rt).live_children())
      if (child->name == "rollback")
        return true;
    return false;
  };
  EXPECT_TRUE(eventually([&] { return !any_left(); }));
  unregister("rollback.taken");
  caf::anon_send_exit(squatter, caf::exit_reason::user_shutdown);
}

TEST(supervisor_api, a_child_on_a_node_that_is_not_there_fails_to_start) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.children.push_back(child_spec::actor("remote", supervised_worker, 1));
  spec.children[0].where = placement::on_node("no-such-node");
  EXPECT_EQ(error_of([&] { supervisor sup(rt, spec, "nonode"); }), errc::start_failed);
}

TEST(supervisor_api, shutdown_goes_right_to_left_and_kills_a_child_that_ignores_it) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.children.push_back(child_spec::actor("a", supervised_worker, 1));
  spec.children.push_back(child_spec::actor("stubborn", stubborn_worker, 2));
  spec.children[1].shutdown = shutdown_policy::after(50ms);
  spec.children.push_back(child_spec::actor("stubborn_process", stubborn_worker, 3));
  spec.children[2].shutdown = shutdown_policy::after(50ms);
  spec.children[2].where = placement::in_own_process();
  spec.children.push_back(child_spec::actor("c", supervised_worker, 4));
  supervisor sup{rt, spec, "order"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto stubborn = actor_of(sup, "stubborn");
  auto stubborn_process = actor_of(sup, "stubborn_process");
  self->monitor(stubborn);
  self->monitor(stubborn_process);
  sup.stop();
  EXPECT_EQ(sup.exit_code(), errc::ok);
  EXPECT_EQ(log.sequence({supervisor_event::terminated}),
            (std::vector<std::string>{"terminated c", "terminated stubborn_process",
                                      "terminated stubborn", "terminated a"}));
  // Both stubborn children were killed: the local one with reason kill,
  // the one in a process by SIGKILL.
  std::vector<caf::error> reasons;
  for (int i = 0; i < 2; ++i)
    self->receive([&](caf::down_msg& down) { reasons.push_back(down.reason); },
                  caf::after(30s) >> [] {});
  ASSERT_EQ(reasons.size(), 2u);
  int killed = 0;
  for (auto& reason : reasons)
    if (reason == caf::exit_reason::kill || exitcode_of(reason) == -SIGKILL)
      ++killed;
  EXPECT_EQ(killed, 2);
}

TEST(supervisor_api, the_handle_starts_stops_restarts_and_deletes_children) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.children.push_back(child_spec::actor("a", supervised_worker, 1));
  supervisor sup{rt, spec, "calls"};
  caf::scoped_actor self{rt.system()};
  auto b = sup.start_child(child_spec::actor("b", supervised_worker, 2));
  EXPECT_EQ(ask_tag(self, b), 2);
  auto nested = supervisor_spec{};
  nested.children.push_back(child_spec::actor("x", supervised_worker, 9));
  sup.start_child(child_spec::supervisor("sub", nested));
  {
    // A nested supervisor's own handle; dropping it leaves it running.
    auto sub = supervisor::attach(actor_of(sup, "sub"));
    EXPECT_EQ(sub.which_children().at(0).id, "x");
    EXPECT_EQ(error_of([&] { supervisor::attach(b); }), errc::bad_argument);
  }
  auto counts = sup.count_children();
  EXPECT_EQ(counts.specs, 3u);
  EXPECT_EQ(counts.active, 3u);
  EXPECT_EQ(counts.supervisors, 1u);
  EXPECT_EQ(counts.workers, 2u);
  // Bad input, each with its error, the tree unchanged.
  EXPECT_EQ(error_of([&] { sup.start_child(child_spec::actor("a", supervised_worker, 5)); }),
            errc::bad_argument);
  EXPECT_EQ(error_of([&] { sup.restart_child("nobody"); }), errc::no_such_child);
  EXPECT_EQ(error_of([&] { sup.restart_child("b"); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { sup.delete_child("b"); }), errc::invalid_state);
  EXPECT_EQ(error_of([&] { sup.terminate_child("nobody"); }), errc::no_such_child);
  EXPECT_EQ(error_of([&] { sup.start_child(supervised_worker, 1); }), errc::bad_argument);
  auto significant = child_spec::actor("sig", supervised_worker, 1);
  significant.significant = true;
  significant.restart = restart::transient;
  EXPECT_EQ(error_of([&] { sup.start_child(significant); }), errc::bad_argument);
  EXPECT_EQ(sup.count_children().specs, 3u);
  // terminate keeps the spec; restart brings it back; delete drops it.
  sup.terminate_child("b");
  auto infos = sup.which_children();
  ASSERT_EQ(infos.size(), 3u);
  EXPECT_EQ(infos[1].id, "b");
  EXPECT_EQ(infos[1].state, child_info::terminated);
  EXPECT_FALSE(infos[1].actor);
  auto again = sup.restart_child("b");
  EXPECT_EQ(ask_tag(self, again), 2);
  sup.terminate_child("b");
  sup.delete_child("b");
  EXPECT_EQ(sup.count_children().specs, 2u);
  sup.stop();
  EXPECT_EQ(error_of([&] { sup.which_children(); }), errc::invalid_state);
}

TEST(supervisor_api, a_name_follows_the_current_incarnation_of_a_child) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.intensity = 5;
  auto cache = child_spec::actor("cache", supervised_worker, 7);
  cache.name = "names.cache";
  cache.where = placement::in_own_process();
  spec.children.push_back(cache);
  supervisor sup{rt, spec, "names"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  auto via = named("names.cache");
  auto first = whereis("names.cache");
  ASSERT_TRUE(first);
  EXPECT_EQ(ask_tag(self, via), 7);
  ::kill(sup.which_children()[0].pid, SIGKILL);
  ASSERT_TRUE(log.wait_for(supervisor_event::restarted, 1, "cache"));
  auto second = whereis("names.cache");
  ASSERT_TRUE(second);
  EXPECT_NE(second, first);
  EXPECT_EQ(second, actor_of(sup, "cache"));
  EXPECT_EQ(ask_tag(self, via), 7); // the send through the name reaches the new one
  sup.stop();
}

TEST(supervisor_api, a_significant_child_that_ends_ends_its_supervisor) {
  auto& rt = test_runtime();
  supervisor_spec spec;
  spec.auto_shutdown = auto_shutdown::any_significant;
  spec.children.push_back(child_spec::actor("helper", supervised_worker, 1));
  auto main_child = child_spec::actor("main", supervised_worker, 2);
  main_child.restart = restart::transient;
  main_child.significant = true;
  spec.children.push_back(main_child);
  supervisor sup{rt, spec, "auto"};
  event_log log{sup};
  caf::scoped_actor self{rt.system()};
  self->send(actor_of(sup, "main"), caf::atom("quit"));
  ASSERT_TRUE(sup.wait(30s));
  EXPECT_EQ(sup.exit_code(), errc::ok);
  EXPECT_EQ(log.sequence({supervisor_event::exited, supervisor_event::terminated,
                          supervisor_event::shut_down}),
            (std::vector<std::string>{"exited main", "terminated helper", "shut_down "}));
}

TEST(supervisor_api, a_tree_whose_process_dies_leaves_no_child_process_behind) {
  auto& rt = test_runtime();
  caf::scoped_actor self{rt.system()};
  auto host = rt.spawn_in_process(tree_host);
  std::vector<int> pids;
  self->request(host, 60s, caf::atom("start"))
    .receive([&](int a, int b) { pids = {a, b}; },
             [&](caf::error& err) { ADD_FAILURE() << rt.system().render(err); });
  ASSERT_EQ(pids.size(), 2u);
  for (auto pid : pids)
    ASSERT_GT(pid, 0);
  for (auto& child : internal::impl_of(rt).live_children())
    if (child->name == "ActorHost-tree_host")
      child->signal(SIGKILL);
  for (auto pid : pids)
    EXPECT_TRUE(process_ends(pid)) << pid;
}
