#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace proctor::testing {

/// A program run by a test, with stdout and stderr going to files. The
/// destructor SIGKILLs and reaps it if it still runs: nothing outlives a test.
class subprocess {
public:
  /// Starts `argv` (argv[0] is the path) with `env` added to ours.
  explicit subprocess(const std::vector<std::string>& argv,
                      const std::vector<std::string>& env = {});

  ~subprocess();

  subprocess(const subprocess&) = delete;
  subprocess& operator=(const subprocess&) = delete;

  pid_t pid() const noexcept {
    return pid_;
  }

  /// Waits until it ends; its Python-style exit code (minus the signal), or
  /// nothing if it still runs after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  /// Waits until stdout holds at least `n` lines; false on timeout.
  bool wait_for_lines(std::size_t n, std::chrono::milliseconds timeout);

  std::string out() const;
  std::string err() const;
  std::vector<std::string> out_lines() const;

private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> exitcode_;
  std::string out_path_;
  std::string err_path_;
};

/// Runs this test binary as a master in helper mode `name` (see helpers.cpp).
std::vector<std::string> helper_argv(const std::string& name,
                                     const std::vector<std::string>& args = {});

/// Runs the helper `argv[2]` if this process was started as one; returns its
/// exit code, or nothing if this is a normal test run.
std::optional<int> run_helper(int argc, char** argv);

/// Whether `pid` is gone (exited, or a zombie nobody reaped yet).
bool process_gone(pid_t pid);

/// The pids of every child of `pid` (all its threads' children).
std::vector<pid_t> children_of(pid_t pid);

/// A fresh directory under TMPDIR (or /tmp), removed by the caller.
std::string make_temp_dir();

} // namespace proctor::testing
