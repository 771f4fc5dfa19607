#include "tests/support/pg_database.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/subprocess.hpp"

namespace proctor::testing {

namespace {

std::string server_conninfo() {
  auto* server = std::getenv("PROCTOR_TEST_PG");
  if (server == nullptr || *server == '\0')
    throw std::runtime_error{"PROCTOR_TEST_PG names no PostgreSQL server: run the tests "
                             "through scripts/with-postgres (scripts/test does)"};
  return server;
}

/// Runs `sql` on the server's own database; throws with its word.
void on_server(const std::string& sql) {
  auto* conn = PQconnectdb(server_conninfo().c_str());
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
    throw std::runtime_error{"test database: " + sql + ": " + why};
}

} // namespace

pg_database::pg_database() {
  static std::atomic<int> made{0};
  name_ = "proctor_test_" + std::to_string(::getpid()) + "_" + std::to_string(made++);
  on_server("CREATE DATABASE " + name_);
  // A later keyword wins in a libpq connection string.
  conninfo_ = server_conninfo() + " dbname=" + name_;
}

pg_database::~pg_database() {
  try {
    on_server("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server may be stopped by the test; its directory goes at the end.
  }
}

namespace {

/// The newest server's programs, as Debian installs them.
std::string server_bin() {
  std::string newest;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator{"/usr/lib/postgresql", ec})
    if (std::filesystem::exists(entry.path() / "bin" / "pg_ctl")
        && (newest.empty() || entry.path().string() > newest))
      newest = entry.path().string();
  if (newest.empty())
    throw std::runtime_error{"no PostgreSQL server is installed (scripts/setup installs it)"};
  return newest + "/bin";
}

} // namespace

pg_server::pg_server() : dir_(make_temp_dir()) {
  std::string as_owner;
  ::chmod(dir_.c_str(), 0755);
  if (::geteuid() == 0) {
    // The server refuses to run as root.
    auto* pw = ::getpwnam("postgres");
    if (pw == nullptr || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error{"no postgres user to run a test server"};
    as_owner = "runuser -u postgres -- ";
  }
  auto bin = server_bin();
  auto init = as_owner + bin + "/initdb -D " + dir_ + "/data -A trust -U proctor --no-sync"
              + " >/dev/null 2>&1";
  if (std::system(init.c_str()) != 0)
    throw std::runtime_error{"initdb failed in " + dir_};
  ctl_ = as_owner + bin + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/log -w -o \"-k " + dir_
         + " -c listen_addresses=''\"";
  if (!start())
    throw std::runtime_error{"the test server did not start; see " + dir_ + "/log"};
  conninfo_ = "host=" + dir_ + " user=proctor dbname=postgres";
}

pg_server::~pg_server() {
  std::system((ctl_ + " -m immediate stop >/dev/null 2>&1").c_str());
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool pg_server::stop() {
  return std::system((ctl_ + " -m fast stop >/dev/null 2>&1").c_str()) == 0;
}

bool pg_server::start() {
  return std::system((ctl_ + " start >/dev/null 2>&1").c_str()) == 0;
}

} // namespace proctor::testing
