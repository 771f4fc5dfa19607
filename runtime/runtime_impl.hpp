#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/link.hpp"
#include "actors/router.hpp"
#include "runtime/forkserver.hpp"
#include "runtime/spawn.hpp"
#include "transport/connection.hpp"

namespace proctor::internal {

/// A worker process this process started, and how it ended.
struct child_process {
  pid_t pid = -1;
  bool daemon = false;
  std::shared_ptr<link> channel;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd;

  std::mutex mtx;
  std::condition_variable ended;
  std::optional<exit_status> status; ///< set once reaped
  bool link_closed = false;

  /// Waits until reaped, at most until `deadline` if given.
  bool wait(std::optional<std::chrono::steady_clock::time_point> deadline);

  /// Sends `sig` through the pidfd, which cannot hit a recycled pid.
  void signal(int sig);
};

/// CAF's configuration plus proctor's flags (`--proctor.*`).
class runtime_config : public caf::actor_system_config {
public:
  runtime_config();
};

class runtime_impl {
public:
  runtime_impl(int argc, char** argv, std::string authkey);

  ~runtime_impl();

  caf::actor_system& system() noexcept {
    return *system_;
  }

  router& routes() noexcept {
    return *router_;
  }

  boost::asio::io_context& io() noexcept {
    return io_;
  }

  /// Starts a worker; returns once it runs (its link may still handshake).
  std::shared_ptr<child_process> start_child(bool daemon);

  /// Asks a worker to spawn the registered actor `name`; waits for its handle.
  caf::strong_actor_ptr spawn_in(child_process& child, const std::string& name);

  /// Runs a worker's life on the calling thread (the worker's main thread)
  /// and ends the process. `link_fd` is connected to the parent.
  [[noreturn]] void run_worker(int link_fd, pid_t parent);

  /// Connection settings for a new link.
  connection_settings link_settings() const;

  /// The process name given by the parent (workers) or MainProcess.
  std::string process_name = "MainProcess";

private:
  std::error_code on_worker_control(link& from, frame_kind kind,
                                    std::span<const char> payload);
  std::error_code on_master_control(link& from, frame_kind kind,
                                    std::span<const char> payload);
  void watch_exit(const std::shared_ptr<child_process>& child);
  void finish_child(const std::shared_ptr<child_process>& child);

  std::vector<std::string> argv_;
  std::string authkey_;
  std::uint32_t max_frame_size_;
  std::chrono::milliseconds handshake_timeout_;
  runtime_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<router> router_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
    work_;
  std::thread io_thread_;
  std::unique_ptr<forkserver> forkserver_; ///< null: start method "spawn"

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<child_process>> children_;
  std::uint64_t next_request_ = 1;
  struct pending_spawn {
    bool done = false;
    std::uint8_t code = 0;
    std::string detail;
    caf::node_id node;
    caf::actor_id aid = 0;
  };
  std::map<std::uint64_t, pending_spawn> spawns_;

  // Worker side: what the parent asked the main thread to do.
  struct task_order {
    std::string task;
    std::string args;
  };
  std::optional<task_order> order_;
  bool parent_gone_ = false;
  int hosted_ = 0;           ///< live actors spawned here for the parent
  bool hosting_done_ = false;
  int hosted_exit_code_ = 0;
};

/// The runtime of this process (set while one exists).
runtime_impl* current_runtime() noexcept;

/// A 64-bit hash of every name registered in this binary; peers compare it.
std::uint64_t binary_fingerprint();

} // namespace proctor::internal
