#include "transport/base/log.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "proctor/process.hpp"
#include "proctor/task.hpp"
#include "tests/support/runtime.hpp"

using namespace std::chrono_literals;
using proctor::log_level;
using proctor::testing::test_runtime;

namespace {

struct line {
  log_level level;
  std::string component;
  std::string message;
};

/// Collects what proctor logs while it lives, then restores the default.
/// The lines live in a shared state that the handler owns a share of: a
/// thread that took the handler just before it was reset may still write.
class captured_log {
public:
  explicit captured_log(log_level level) : saved_(proctor::get_log_level()) {
    proctor::set_log_level(level);
    proctor::set_log_handler(
      [state = state_](log_level l, std::string_view component, std::string_view message) {
        std::lock_guard<std::mutex> guard{state->mtx};
        state->lines.push_back({l, std::string{component}, std::string{message}});
      });
  }
  ~captured_log() {
    proctor::set_log_handler(nullptr);
    proctor::set_log_level(saved_);
  }
  std::vector<line> lines() {
    std::lock_guard<std::mutex> guard{state_->mtx};
    return state_->lines;
  }

private:
  struct shared_lines {
    std::mutex mtx;
    std::vector<line> lines;
  };
  log_level saved_;
  std::shared_ptr<shared_lines> state_ = std::make_shared<shared_lines>();
};

int exits_with_three() {
  return 3;
}
PROCTOR_TASK(exits_with_three);

} // namespace

TEST(log, the_applications_handler_gets_level_component_and_message) {
  captured_log log{log_level::info};
  proctor::internal::log("pool", log_level::warning, "worker ", 42, " is slow");
  proctor::internal::log("pool", log_level::debug, "not at info");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, log_level::warning);
  EXPECT_EQ(lines[0].component, "pool");
  EXPECT_EQ(lines[0].message, "worker 42 is slow");
}

TEST(log, a_real_line_of_the_runtime_reaches_the_handler) {
  captured_log log{log_level::info};
  proctor::process p{test_runtime(), exits_with_three};
  p.start();
  ASSERT_TRUE(p.join(30s));
  ASSERT_EQ(p.exitcode(), 3);
  auto pid = std::to_string(p.pid());
  bool seen = false;
  for (auto& l : log.lines())
    seen = seen || (l.component == "runtime" && l.message.find(pid) != std::string::npos);
  EXPECT_TRUE(seen) << "no line of the runtime names worker " << pid;
}

TEST(log, a_throwing_handler_is_contained) {
  proctor::set_log_handler([](log_level, std::string_view, std::string_view) {
    throw std::runtime_error{"the logger is down"};
  });
  EXPECT_NO_THROW(proctor::internal::log("runtime", log_level::error, "still fine"));
  proctor::set_log_handler(nullptr);
}

TEST(log, the_default_line_has_a_timestamp_the_pid_the_level_and_the_component) {
  auto text = proctor::internal::format_log_line(log_level::error, "transport", "it broke");
  std::regex shape{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z proctor\[(\d+)\] error transport: it broke)"};
  std::smatch m;
  ASSERT_TRUE(std::regex_match(text, m, shape)) << text;
  EXPECT_EQ(std::stoi(m[1].str()), static_cast<int>(::getpid()));
}

TEST(log, the_level_drops_lines_above_it) {
  captured_log log{log_level::error};
  proctor::internal::log("runtime", log_level::warning, "dropped");
  proctor::internal::log("runtime", log_level::error, "kept");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].message, "kept");
}
