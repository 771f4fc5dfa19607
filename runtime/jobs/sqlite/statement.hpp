#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace proctor::internal::sqlite {

/// Throws proctor::error (store_failed) with SQLite's word on `db`.
[[noreturn]] void refused(sqlite3* db, std::string_view what);

/// Runs `sql` (no rows wanted), throwing store_failed.
void run(sqlite3* db, const char* sql);

/// One prepared statement, finalized with it. Binding and reading never
/// copy twice: blobs and text are bound as transient copies and read out
/// into owned values.
class statement {
public:
  statement(sqlite3* db, const char* sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::int64_t v);
  statement& bind(int i, std::string_view v);
  statement& bind_null(int i);
  statement& bind_blob(int i, std::span<const char> v);

  /// The next row; false when done. Throws store_failed.
  bool step();
  /// Steps to the end, ignoring rows.
  void finish();
  /// Ready to run again, bindings cleared.
  void reset() noexcept;

  std::int64_t integer(int col) const;
  std::string text(int col) const;
  std::vector<char> blob(int col) const;

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// A cached statement in use: reset when the scope ends, so that no read
/// stays open on the file.
class statement_use {
public:
  explicit statement_use(statement& s) noexcept : s_(s) {
  }
  ~statement_use() {
    s_.reset();
  }
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;

  statement* operator->() const noexcept {
    return &s_;
  }
  statement& operator*() const noexcept {
    return s_;
  }

private:
  statement& s_;
};

/// BEGIN IMMEDIATE ... COMMIT (BEGIN ... COMMIT to read only), rolled back
/// if the scope ends first. Inside a transaction already, it joins that one
/// and does nothing itself.
class transaction {
public:
  explicit transaction(sqlite3* db, bool writes = true);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  void commit();

private:
  sqlite3* db_;
  bool own_;
  bool done_ = false;
};

} // namespace proctor::internal::sqlite
