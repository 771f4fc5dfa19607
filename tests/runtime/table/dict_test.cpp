// dict and value: Python's SyncManager.dict() and Value, shared by processes,
// with atomic read-modify-writes.
#include "proctor/dict.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "proctor/process.hpp"
#include "proctor/queue.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::dict;
using proctor::errc;
using proctor::value;
using proctor::testing::error_of;
using proctor::testing::test_runtime;

namespace {

constexpr auto limit = 30s;

void counts_up(dict<std::string, int> d, value<int> v, int times) {
  for (int i = 0; i < times; ++i) {
    d.update("n", [](std::optional<int> n) { return n.value_or(0) + 1; });
    v.update([](int x) { return x + 1; });
  }
}
PROCTOR_TASK(counts_up);

void makes_a_dict(proctor::queue<dict<int, int>> out) {
  dict<int, int> d{proctor::runtime::current()};
  d.set(1, 2);
  out.put(d);
  for (;;)
    std::this_thread::sleep_for(1s);
}
PROCTOR_TASK(makes_a_dict);

} // namespace

TEST(dict, behaves_as_a_python_dict_in_insertion_order) {
  dict<std::string, int> d{test_runtime()};
  EXPECT_TRUE(d.empty());
  d.set("b", 2);
  d.set("a", 1);
  d.set("b", 3); // keeps its place
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.get("b"), 3);
  EXPECT_EQ(d.get("zz"), std::nullopt);
  EXPECT_EQ(d.get("zz", 7), 7);
  EXPECT_TRUE(d.contains("a"));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(d.values(), (std::vector<int>{3, 1}));
  EXPECT_EQ(d.setdefault("a", 9), 1);
  EXPECT_EQ(d.setdefault("c", 9), 9);
  EXPECT_EQ(d.pop("b"), 3);
  EXPECT_EQ(d.pop("b"), std::nullopt);
  EXPECT_FALSE(d.erase("b"));
  d.update(std::map<std::string, int>{{"a", 10}, {"d", 4}});
  EXPECT_EQ(d.items(),
            (std::vector<std::pair<std::string, int>>{{"a", 10}, {"c", 9}, {"d", 4}}));
  d.clear();
  EXPECT_EQ(d.size(), 0u);
}

TEST(dict, compare_and_set_covers_absent_keys_and_removal) {
  dict<int, std::string> d{test_runtime()};
  EXPECT_TRUE(d.compare_and_set(1, std::nullopt, "one"));   // absent -> set
  EXPECT_FALSE(d.compare_and_set(1, std::nullopt, "uno"));  // not absent any more
  EXPECT_FALSE(d.compare_and_set(1, "two", "uno"));         // another value
  EXPECT_TRUE(d.compare_and_set(1, "one", "uno"));
  EXPECT_TRUE(d.compare_and_set(1, "uno", std::nullopt));   // removes
  EXPECT_FALSE(d.contains(1));
}

TEST(dict, updates_from_many_processes_are_atomic) {
  auto& rt = test_runtime();
  dict<std::string, int> d{rt};
  value<int> v{rt, 0};
  constexpr int processes = 4;
  constexpr int times = 50;
  std::vector<proctor::process> workers;
  for (int i = 0; i < processes; ++i)
    workers.emplace_back(rt, counts_up, d, v, times);
  for (auto& p : workers)
    p.start();
  for (auto& p : workers) {
    ASSERT_TRUE(p.join(limit));
    EXPECT_EQ(p.exitcode(), 0);
  }
  EXPECT_EQ(d.get("n"), processes * times);
  EXPECT_EQ(v.get(), processes * times);
}

TEST(value, holds_any_serializable_type) {
  auto& rt = test_runtime();
  value<std::string> s{rt, "x"};
  EXPECT_EQ(s.update([](std::string x) { return x + "y"; }), "xy");
  EXPECT_FALSE(s.compare_and_set("x", "z"));
  EXPECT_TRUE(s.compare_and_set("xy", "z"));
  EXPECT_EQ(s.get(), "z");
  value<std::vector<double>> v{rt};
  EXPECT_TRUE(v.get().empty());
  v.set({1.5, 2.5});
  EXPECT_EQ(v.get(), (std::vector<double>{1.5, 2.5}));
}

TEST(dict, an_invalid_handle_is_invalid_state_and_a_dead_owner_owner_gone) {
  dict<int, int> invalid;
  EXPECT_EQ(error_of([&] { invalid.size(); }), errc::invalid_state);
  auto& rt = test_runtime();
  proctor::queue<dict<int, int>> out{rt};
  proctor::process owner{rt, makes_a_dict, out};
  owner.start();
  auto d = out.get(limit);
  EXPECT_EQ(d.get(1), 2);
  owner.kill();
  ASSERT_TRUE(owner.join(limit));
  EXPECT_EQ(error_of([&] { d.set(1, 3); }), errc::owner_gone);
  EXPECT_EQ(error_of([&] { d.get(1); }), errc::owner_gone);
}
