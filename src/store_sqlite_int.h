/* store_sqlite_int.h - what the SQLite store shares with its other parts (queue.c, subs.c, stats.c, request_run.c); not a public interface. */
#ifndef STREAMER_STORE_SQLITE_INT_H
#define STREAMER_STORE_SQLITE_INT_H

#include <sqlite3.h>

struct store;

/* The store's database connection, for modules that prepare their own statements on it. */
sqlite3 *store_sqlite_db(struct store *s);

/*
 * Records the connection's current SQLite error for the operation what as
 * the store's last error (store_errmsg) and returns STORE_ERROR.
 */
int store_sqlite_fail(struct store *s, const char *what);

/* Resets st and clears its bindings: ready for its next use, also right after an error. */
void store_sqlite_done(sqlite3_stmt *st);

/*
 * Binds the parameters of st in order from a format: 't' text (const char *,
 * NULL = SQL NULL), 'i' int64_t. Bindings are SQLITE_STATIC: the caller calls
 * store_sqlite_done before its strings go away. Returns STORE_OK, or
 * STORE_ERROR (recorded on s, st already reset).
 */
int store_sqlite_bind(struct store *s, sqlite3_stmt *st, const char *fmt, ...);

/* Column i of the current row as a new string (NULL for SQL NULL). Aborts when out of memory. */
char *store_sqlite_col_text(sqlite3_stmt *st, int i);

#endif
