#pragma once

#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace proctor::testing {

/// An io_context running on its own thread for the life of the object.
class io_thread {
public:
  io_thread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {
  }

  ~io_thread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  boost::asio::io_context& context() {
    return io_;
  }

private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

} // namespace proctor::testing
