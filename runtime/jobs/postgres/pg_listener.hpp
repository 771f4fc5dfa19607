#pragma once

#include <functional>
#include <string>
#include <thread>

struct pg_conn;

namespace proctor::internal {

/// LISTENs on a channel with a connection of its own, on a thread of its
/// own, and calls `heard` for each notification (and after each reconnect:
/// what was missed meanwhile is unknown). A broken connection is opened
/// again every second until it works.
///
/// Threads: `heard` runs on the listener's thread; the destructor stops it
/// (a pipe wakes its poll) and joins it.
class pg_listener {
public:
  pg_listener(std::string conninfo, std::string channel, std::function<void()> heard);
  ~pg_listener();
  pg_listener(const pg_listener&) = delete;
  pg_listener& operator=(const pg_listener&) = delete;

private:
  void run();
  /// A connection that listens, or nullptr if the server cannot be reached.
  pg_conn* connect();

  std::string conninfo_;
  std::string channel_;
  std::function<void()> heard_;
  int stop_[2] = {-1, -1}; ///< a pipe: a byte written ends the thread
  std::thread thread_;
};

} // namespace proctor::internal
