#pragma once

#include <string>

namespace proctor::testing {

/// A fresh database on the test's PostgreSQL server (PROCTOR_TEST_PG, set
/// by scripts/with-postgres), dropped with this object.
class pg_database {
public:
  /// Throws std::runtime_error if no server is named.
  pg_database();
  ~pg_database();
  pg_database(const pg_database&) = delete;
  pg_database& operator=(const pg_database&) = delete;

  /// A libpq connection string for the database.
  const std::string& conninfo() const noexcept {
    return conninfo_;
  }

private:
  std::string name_;
  std::string conninfo_;
};

/// A PostgreSQL server of the test's own, which it may stop and start
/// (the shared one serves tests running beside it): a cluster in a fresh
/// directory, made and run by the postgres user when root, on a Unix socket
/// only; stopped and removed with this object.
class pg_server {
public:
  /// Throws std::runtime_error if the cluster cannot be made or started.
  pg_server();
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  const std::string& conninfo() const noexcept {
    return conninfo_;
  }

  /// False if pg_ctl failed.
  bool stop();
  bool start();

private:
  std::string dir_;
  std::string ctl_; ///< the pg_ctl command line, without its verb
  std::string conninfo_;
};

} // namespace proctor::testing
