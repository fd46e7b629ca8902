/* sqlite_int.h - what the files of the SQLite engine (src/store/sqlite/) share: the handle, the statements, the helpers, the ops. */
#ifndef STREAMER_STORE_SQLITE_INT_H
#define STREAMER_STORE_SQLITE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "sql.h"
#include "store_engine.h"
#include "util.h"

/* Every statement of the engine, prepared once in store_open by prepare_all. */
enum sqlite_stmt {
#define X(name, sql) name,
	STORE_SQL_STATEMENTS(X)
	QUEUE_SQL_STATEMENTS(X)
	SUBS_SQL_STATEMENTS(X)
	HISTORY_SQL_STATEMENTS(X)
#undef X
	STMT_COUNT
};

/*
 * One handle per process, used by one thread at a time (the connection is
 * opened with SQLITE_OPEN_NOMUTEX). Every statement is prepared once in
 * store_open; each call binds, steps, then resets and clears its statement
 * before returning, so no statement stays active between calls.
 */
struct sqlite_store {
	struct store base;     /* first: the public handle is a pointer to it */
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[STMT_COUNT];
	struct buf errmsg;     /* the last error, "" when none yet */
	int64_t next_check_us; /* monotonic time of the next check that the file is still ours */
	int moved;             /* the path no longer names the open file: every call fails */
	int wake_fd;           /* the wake-up socket of store_wake_listen, -1 when none */
	char wake_path[108];   /* its path (sizeof sun_path), "" when none */
};

/* The engine's handle behind a public one (only ever made by sqlite_open). */
static inline struct sqlite_store *sq(struct store *s)
{
	return (struct sqlite_store *)s;
}

/*
 * Records the connection's current SQLite error for the operation what as
 * the store's last error (store_errmsg) and returns STORE_ERROR. A file
 * deleted or replaced under the handle is reported instead.
 */
int sqlite_fail(struct sqlite_store *s, const char *what);

/* Sets the store's last error from a printf format. */
void sqlite_set_error(struct sqlite_store *s, const char *fmt, ...) PRINTF_LIKE(2, 3);

/*
 * Whether the path still names the file this handle opened (store.h: every
 * call checks it first): STORE_OK, or STORE_ERROR once it was deleted or
 * replaced. force skips the 2 s rate limit (after an error).
 */
int sqlite_check_file(struct sqlite_store *s, int force);

/* Resets st and clears its bindings: ready for its next use, also right after an error. */
void sqlite_done(sqlite3_stmt *st);

/* Runs bound statement id, which returns no rows, to completion: STORE_OK, or STORE_ERROR naming what. */
int sqlite_run_exec(struct sqlite_store *s, enum sqlite_stmt id, const char *what);

/*
 * Checks the file (sqlite_check_file) and binds the parameters of st in
 * order from a format: 't' text (const char *, NULL = SQL NULL), 'i'
 * int64_t. Bindings are SQLITE_STATIC: the caller calls sqlite_done before
 * its strings go away. Returns STORE_OK, or STORE_ERROR (recorded on s, st
 * already reset).
 */
int sqlite_bind(struct sqlite_store *s, sqlite3_stmt *st, const char *fmt, ...);

/* Column i of the current row as a new string (NULL for SQL NULL). Aborts when out of memory. */
char *sqlite_col_text(sqlite3_stmt *st, int i);

/* ---- migrate.c: the file and its schema -------------------------------------------- */

/* store_create for a file path: the contract of store_create in store.h. */
int sqlite_create_file(const char *path, long long gid, char *err, size_t errlen);

/*
 * Applies every embedded migration newer than the database, one
 * transaction each (several processes starting at once apply each step
 * exactly once). Returns 0, or -1 with the error recorded on s.
 */
int sqlite_migrate(struct sqlite_store *s);

/* The newest schema version of the embedded migrations. */
int sqlite_schema_latest(void);

/*
 * One-off SQL of opening (pragmas, migrations), never per call: runs sql, or
 * the first row's first column as text into out (outlen bytes). Each
 * returns 0, or -1 with the error recorded on s (for the operation what).
 */
int sqlite_exec(struct sqlite_store *s, const char *sql, const char *what);
int sqlite_pragma_text(struct sqlite_store *s, const char *sql, char *out, size_t outlen);

/* ---- the ops of queue.c, subs.c, history.c, report.c and wake.c ---------------------- */

/* Each with the contract of the public function of the same name without "sqlite_". */
int sqlite_queue_enqueue(struct store *h, struct request_record *r, int64_t now);
int sqlite_queue_count_live(struct store *h, const char *connection_id, int64_t limit,
			    int64_t *n);
int sqlite_queue_count_tenant_pending(struct store *h, const char *tenant, int64_t limit,
				      int64_t *n);
int sqlite_queue_unhold(struct store *h, const char *ids_json, int64_t now);
int sqlite_queue_claim(struct store *h, const char *owner, int64_t now, int64_t lease_ms,
		       struct request_record *out);
int sqlite_queue_renew(struct store *h, const char *id, const char *owner, int64_t now,
		       int64_t lease_ms, int *cancel);
int sqlite_queue_progress(struct store *h, const char *id, const char *owner, int64_t now,
			  int64_t lease_ms, int pct, const char *message, const char *metadata,
			  int *cancel);
int sqlite_queue_finish(struct store *h, const char *id, const char *owner, int64_t now,
			const char *status, const char *result, const char *code,
			const char *message, int64_t keep_ms);
int sqlite_queue_release(struct store *h, const char *id, const char *owner, int64_t now,
			 int64_t run_after);
int sqlite_queue_get_own(struct store *h, const char *tenant, const char *user,
			 const char *request_id, struct request_record *out);
int sqlite_queue_cancel(struct store *h, const char *id, int64_t now, int64_t keep_ms,
			int *was_running, struct request_record *out);
int sqlite_queue_cancel_connection(struct store *h, const char *connection_id, int64_t now,
				   int64_t keep_ms, int *n);
int sqlite_queue_gc(struct store *h, int64_t now, int *n);

int sqlite_subs_add(struct store *h, const char *connection_id, const char *tenant,
		    const char *topic, int presence, int max, int64_t now,
		    enum subs_add_result *result);
int sqlite_subs_remove(struct store *h, const char *connection_id, const char *topic);
int sqlite_subs_topic_members(struct store *h, const char *tenant, const char *topic,
			      int64_t now, subs_id_fn fn, void *arg);
int sqlite_subs_user_connections(struct store *h, const char *tenant, const char *user,
				 int64_t now, subs_id_fn fn, void *arg);
int sqlite_subs_tenant_connections(struct store *h, const char *tenant, int64_t now,
				   subs_id_fn fn, void *arg);
int sqlite_subs_expired_connections(struct store *h, int64_t now, int limit, subs_id_fn fn,
				    void *arg);
int sqlite_subs_presence(struct store *h, const char *tenant, const char *topic, int64_t now,
			 int limit, subs_user_fn fn, void *arg);
int sqlite_subs_presence_count(struct store *h, const char *tenant, const char *topic,
			       int64_t now, int64_t *users, int64_t *connections);
int sqlite_subs_user_topic_count(struct store *h, const char *tenant, const char *topic,
				 const char *user, int64_t now, int64_t *n);
int sqlite_subs_connection_topics(struct store *h, const char *connection_id, subs_topic_fn fn,
				  void *arg);
int sqlite_subs_presence_watchers(struct store *h, const char *tenant, const char *topic,
				  int64_t now, subs_id_fn fn, void *arg);
int sqlite_subs_patterns(struct store *h, const char *tenant, int64_t now, subs_topic_fn fn,
			 void *arg);

int sqlite_history_append(struct store *h, const char *stream, const char *target,
			  const char *text, int64_t now, const struct history_limits *lim,
			  struct stream_pos *pos);
int sqlite_history_position(struct store *h, const char *stream, struct stream_pos *pos);
int sqlite_history_read(struct store *h, const char *stream, int64_t after, int64_t limit,
			int64_t now, int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
			int (*fn)(void *arg, const struct history_entry *e), void *arg);
int sqlite_history_positions(struct store *h, const char *connection_id, const char *const *names,
			     size_t n, const char *topic_prefix, int64_t since, history_pos_fn fn,
			     void *arg);
int sqlite_history_gc(struct store *h, int64_t now, int64_t ttl_ms, int64_t idle_ms,
		      int64_t *messages, int64_t *streams);

int sqlite_gauges(struct store *h, int64_t now, int64_t *connections_active,
		  int64_t *requests_pending, int64_t *requests_running);
int sqlite_activity(struct store *h, const char *tenant, int64_t from_ms, int64_t until_ms,
		    int (*fn)(void *arg, const struct store_activity_row *row), void *arg);

int sqlite_wake_listen(struct store *h, char *err, size_t errlen);
int sqlite_wake_fd(struct store *h);
void sqlite_wake_drain(struct store *h);
void sqlite_wake_notify(struct store *h);
void sqlite_wake_close(struct store *h);

#endif
