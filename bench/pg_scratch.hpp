#pragma once

// A PostgreSQL database of its own for one benchmark, made on the server
// that PROCTOR_BENCH_PG names (scripts/bench starts a throwaway one with
// scripts/with-postgres) and dropped at the end.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <libpq-fe.h>
#include <unistd.h>

namespace bench {

class pg_scratch {
public:
  /// Whether a server is named; without one the PostgreSQL figures are skipped.
  static bool available() {
    auto* server = std::getenv("PROCTOR_BENCH_PG");
    return server != nullptr && *server != '\0';
  }

  explicit pg_scratch(const std::string& purpose)
    : server_(std::getenv("PROCTOR_BENCH_PG")),
      name_("proctor_bench_" + purpose + "_" + std::to_string(::getpid())) {
    on_server("CREATE DATABASE " + name_);
  }

  ~pg_scratch() {
    try {
      on_server("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
      // The server's directory goes with it at the end anyway.
    }
  }

  pg_scratch(const pg_scratch&) = delete;
  pg_scratch& operator=(const pg_scratch&) = delete;

  /// A libpq connection string for the scratch database (a later keyword wins).
  std::string conninfo() const {
    return server_ + " dbname=" + name_;
  }

private:
  void on_server(const std::string& sql) const {
    auto* conn = PQconnectdb(server_.c_str());
    std::string why;
    if (PQstatus(conn) != CONNECTION_OK) {
      why = PQerrorMessage(conn);
    } else {
      auto* r = PQexec(conn, sql.c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK)
        why = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(conn);
    if (!why.empty())
      throw std::runtime_error{"bench database: " + sql + ": " + why};
  }

  std::string server_;
  std::string name_;
};

} // namespace bench
