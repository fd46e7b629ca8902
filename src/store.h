/* store.h - the connection store interface; src/store_sqlite.c implements it on SQLite (WAL). */
#ifndef STREAMER_STORE_H
#define STREAMER_STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Everything the workers and the CLI keep goes through this interface, so a
 * shared database engine can replace SQLite later without touching callers.
 * Functions return STORE_OK, STORE_NOTFOUND or STORE_ERROR (details in
 * store_errmsg). Times are milliseconds since the epoch.
 *
 * A handle belongs to one process and is used by one thread at a time; open
 * it after fork, never before. Functions filling a struct conn_record *out
 * overwrite it (free what it held first); the caller then owns the strings
 * and releases them with conn_record_free. A lock held by another process
 * beyond the busy timeout gives STORE_ERROR with "is busy" in store_errmsg.
 */
enum {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_ERROR = -1,
};

struct store;

/* One connection row. Strings are owned by the record; see conn_record_free. */
struct conn_record {
	char *id;
	char *user_id;
	char *tenant_id;
	char *permissions;     /* JSON array text, e.g. ["read","write"]; never NULL when read */
	char *user_agent;      /* may be NULL */
	char *source_addr;     /* may be NULL */
	int64_t connected_at;
	int64_t last_active_at;
	int64_t expires_at;
	int64_t messages_received;
	int64_t messages_sent;
};

/* Frees the strings of r and zeroes it. Safe on a zeroed record. */
void conn_record_free(struct conn_record *r);

/*
 * Opens (creating if needed) the database at path, puts it in WAL mode, sets
 * the busy timeout, applies pending migrations from sql/ (embedded at build
 * time) and prepares every statement. Call once per process. Returns 0 and a
 * new handle, or -1 with a reason in err.
 */
int store_open(struct store **out, const char *path, int busy_timeout_ms,
	       char *err, size_t errlen) __attribute__((warn_unused_result));
void store_close(struct store *s);

/* The schema version (PRAGMA user_version) the open database is at, and the newest this build knows. */
int store_schema_version(struct store *s);
int store_schema_latest(void);

/* The last error's text for logs. Never NULL. */
const char *store_errmsg(struct store *s);

/*
 * One write transaction (BEGIN IMMEDIATE … COMMIT): begin waits up to the
 * busy timeout for the write lock. When commit fails the transaction is still
 * open: call store_rollback. Rollback is safe when none is open. Calls
 * outside a transaction each commit on their own.
 */
int store_begin(struct store *s) __attribute__((warn_unused_result));
int store_commit(struct store *s) __attribute__((warn_unused_result));
void store_rollback(struct store *s);

/*
 * Inserts r, replacing a row with the same id: that is a new connection, so
 * the old row's dependent rows are deleted with it. NULL permissions are
 * stored as "[]". Only r->id, r->user_id and r->tenant_id are required.
 */
int store_conn_put(struct store *s, const struct conn_record *r)
	__attribute__((warn_unused_result));

/*
 * For a client message: if connection id exists and has not expired at now,
 * sets last_active_at = now, expires_at = now + ttl_ms, adds one to
 * messages_received, and fills *out (when non-NULL) with the updated row.
 * Returns STORE_NOTFOUND for a missing or expired row (which is left alone).
 */
int store_conn_touch(struct store *s, const char *id, int64_t now, int64_t ttl_ms,
		     struct conn_record *out) __attribute__((warn_unused_result));

/*
 * For a keep-alive: pushes expires_at to now + ttl_ms (never back) for a
 * live row only. STORE_NOTFOUND for a missing or expired row.
 */
int store_conn_keepalive(struct store *s, const char *id, int64_t now, int64_t ttl_ms)
	__attribute__((warn_unused_result));

/* Adds n to messages_sent. STORE_NOTFOUND when the row is gone. */
int store_conn_add_sent(struct store *s, const char *id, int64_t n)
	__attribute__((warn_unused_result));

/* Reads a row whatever its expiry. STORE_NOTFOUND when absent. */
int store_conn_get(struct store *s, const char *id, struct conn_record *out)
	__attribute__((warn_unused_result));

/*
 * Deletes the row and its dependent rows. When out is non-NULL and the row
 * existed, fills it with the row as it was. STORE_NOTFOUND when absent.
 */
int store_conn_delete(struct store *s, const char *id, struct conn_record *out)
	__attribute__((warn_unused_result));

/*
 * Calls fn for each connection (of tenant when non-NULL), ordered by
 * connected_at. The record is borrowed for the call. fn returning non-zero
 * stops the walk. fn may call other store functions on s but not
 * store_conn_list. Returns STORE_OK or STORE_ERROR.
 */
int store_conn_list(struct store *s, const char *tenant,
		    int (*fn)(const struct conn_record *r, void *ctx), void *ctx)
	__attribute__((warn_unused_result));

/*
 * Counts into *n the live (unexpired at now) connections of user in tenant,
 * other than except_id (a reconnect under the same id replaces its row),
 * stopping at limit. For the per-user connection quota: run it in the
 * connect's transaction, before store_conn_put, so two workers cannot both
 * take the last place. STORE_OK or STORE_ERROR.
 */
int store_conn_count_user(struct store *s, const char *tenant, const char *user,
			  const char *except_id, int64_t now, int64_t limit, int64_t *n)
	__attribute__((warn_unused_result));

/* A cheap read that proves the database answers (for /healthz). */
int store_ping(struct store *s) __attribute__((warn_unused_result));

#endif
