#pragma once

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace proctor::internal {

/// An io_context run by a thread of its own for the life of the object.
/// Handlers posted to it run in order, one at a time, on that thread.
class service_thread {
public:
  service_thread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {
  }

  /// Stops the context (what is still pending is dropped) and joins.
  ~service_thread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  service_thread(const service_thread&) = delete;
  service_thread& operator=(const service_thread&) = delete;

  boost::asio::io_context& context() noexcept {
    return io_;
  }

private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

} // namespace proctor::internal
