#include "runtime/jobs/sqlite/statement.hpp"

#include <sqlite3.h>

#include "proctor/errc.hpp"

namespace proctor::internal::sqlite {

void refused(sqlite3* db, std::string_view what) {
  throw error(errc::store_failed, "proctor: jobs store: " + std::string{what} + ": "
                                    + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

void run(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message != nullptr ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw error(errc::store_failed, "proctor: jobs store: " + why);
  }
}

statement::statement(sqlite3* db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
    refused(db, "prepare");
}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

namespace {

void bound(sqlite3* db, int rc) {
  if (rc != SQLITE_OK)
    refused(db, "bind");
}

} // namespace

statement& statement::bind(int i, std::int64_t v) {
  bound(db_, sqlite3_bind_int64(stmt_, i, v));
  return *this;
}

statement& statement::bind(int i, std::string_view v) {
  bound(db_, sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

statement& statement::bind_null(int i) {
  bound(db_, sqlite3_bind_null(stmt_, i));
  return *this;
}

statement& statement::bind_blob(int i, std::span<const char> v) {
  // A zero-length blob, not NULL: "no bytes" is a value (a void result).
  bound(db_, v.empty() ? sqlite3_bind_zeroblob(stmt_, i, 0)
                       : sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  return *this;
}

bool statement::step() {
  auto rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc != SQLITE_DONE)
    refused(db_, "step");
  return false;
}

void statement::finish() {
  while (step()) {
  }
}

void statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::integer(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string statement::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p != nullptr ? std::string{p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))}
                      : std::string{};
}

std::vector<char> statement::blob(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return p != nullptr ? std::vector<char>(p, p + sqlite3_column_bytes(stmt_, col))
                      : std::vector<char>{};
}

transaction::transaction(sqlite3* db, bool writes)
  : db_(db), own_(sqlite3_get_autocommit(db) != 0) {
  if (own_
      && sqlite3_exec(db_, writes ? "BEGIN IMMEDIATE" : "BEGIN", nullptr, nullptr, nullptr)
           != SQLITE_OK)
    refused(db_, "begin");
}

transaction::~transaction() {
  if (own_ && !done_)
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  if (own_ && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    refused(db_, "commit");
  done_ = true;
}

} // namespace proctor::internal::sqlite
