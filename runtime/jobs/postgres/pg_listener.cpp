#include "runtime/jobs/postgres/pg_listener.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

pg_listener::pg_listener(std::string conninfo, std::string channel, std::function<void()> heard)
  : conninfo_(std::move(conninfo)), channel_(std::move(channel)), heard_(std::move(heard)) {
  if (::pipe2(stop_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw error(errc::resource_exhausted, "proctor: jobs store: cannot make a pipe");
  thread_ = std::thread{[this] { run(); }};
}

pg_listener::~pg_listener() {
  char stop = 1;
  (void)::write(stop_[1], &stop, 1);
  thread_.join();
  ::close(stop_[0]);
  ::close(stop_[1]);
}

pg_conn* pg_listener::connect() {
  auto* conn = PQconnectdb(conninfo_.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    return nullptr;
  }
  auto* quoted = PQescapeIdentifier(conn, channel_.c_str(), channel_.size());
  std::string sql = std::string{"LISTEN "} + (quoted != nullptr ? quoted : "proctor_jobs");
  PQfreemem(quoted);
  auto* r = PQexec(conn, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

void pg_listener::run() {
  pg_conn* conn = nullptr;
  while (true) {
    if (conn == nullptr) {
      conn = connect();
      if (conn != nullptr)
        heard_(); // whatever happened while it was away
    }
    pollfd fds[2] = {{stop_[0], POLLIN, 0}, {conn != nullptr ? PQsocket(conn) : -1, POLLIN, 0}};
    // Without a connection, the wait is the pause before the next try.
    auto n = ::poll(fds, conn != nullptr ? 2 : 1, 1000);
    if (n > 0 && (fds[0].revents & POLLIN) != 0)
      break;
    if (conn == nullptr || n <= 0)
      continue;
    if (PQconsumeInput(conn) == 0) {
      log("jobs", log_level::warning, "the PostgreSQL listener lost its connection: ",
          PQerrorMessage(conn));
      PQfinish(conn);
      conn = nullptr;
      continue;
    }
    bool any = false;
    while (auto* note = PQnotifies(conn)) {
      any = true;
      PQfreemem(note);
    }
    if (any)
      heard_();
  }
  PQfinish(conn);
}

} // namespace proctor::internal
