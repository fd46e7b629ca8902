/* store_sqlite_int.h - what the SQLite store shares with its other parts (store_queue.c); not a public interface. */
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

#endif
