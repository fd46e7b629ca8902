/* pg_int.h - what the files of the PostgreSQL engine (src/store/postgresql/) share: the handle, the statements, the helpers, the ops. */
#ifndef STREAMER_STORE_PG_INT_H
#define STREAMER_STORE_PG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pg_sql.h"
#include "store_engine.h"
#include "util.h"

/* Every statement of the engine, prepared on a session the first time it runs there. */
enum pg_stmt {
#define X(name, sql) name,
	PG_STORE_STATEMENTS(X)
	PG_QUEUE_STATEMENTS(X)
	PG_SUBS_STATEMENTS(X)
	PG_HISTORY_STATEMENTS(X)
#undef X
	PG_STMT_COUNT
};

/*
 * One handle per process, used by one thread at a time: one session
 * (PGconn) with the statements it ran prepared on it. A lost session fails
 * the call that meets it; the next call outside a transaction reconnects
 * (PQreset) and prepares again as statements are used. Wake-ups listen on a second session of
 * their own (wake.c), opened only by store_wake_listen.
 */
struct pg_store {
	struct store base;     /* first: the public handle is a pointer to it */
	PGconn *conn;
	char *conninfo;        /* the libpq URI (may hold a password: never logged) */
	char *where;           /* "<db> on <host>" for messages */
	struct buf errmsg;     /* the last error, "" when none yet */
	unsigned char stmt_ready[PG_STMT_COUNT]; /* prepared on this session (prepare_once) */
	int in_txn;            /* between store_begin(_read) and commit/rollback */
	int txn_write;         /* ... and it is a store_begin (write) transaction */
	int begin_pending;     /* ... whose BEGIN (begin_stmt) goes with its first statement */
	enum pg_stmt begin_stmt;
	int end_pending;       /* a read transaction's end was sent, its result not read yet */
	int prepared;          /* the statements are prepared on this session */
	PGconn *wake;          /* the LISTEN session, NULL when not listening or lost */
	int listening;         /* store_wake_listen succeeded and no wake_close since */
	int64_t reconnect_at;  /* monotonic ms before which a lost session is not retried (0 = now) */
	int busy_timeout_ms;   /* the sessions' lock_timeout (store_options), kept for reconnects */
	long pid;              /* the process that opened it (see pg_finish) */
};

/* The engine's handle behind a public one (only ever made by pg_open). */
static inline struct pg_store *pgs(struct store *s)
{
	return (struct pg_store *)s;
}

/* Sets the store's last error from a printf format; returns STORE_ERROR. */
int pg_set_error(struct pg_store *s, const char *fmt, ...) PRINTF_LIKE(2, 3);

/*
 * Runs prepared statement id with parameters from a format: 't' text
 * (const char *, NULL = SQL NULL), 'i' int64_t. Reconnects first when the
 * session was lost and no transaction is open. Returns the result (PQclear
 * it), or NULL with the error recorded on s for the operation what.
 */
PGresult *pg_run(struct pg_store *s, enum pg_stmt id, const char *what, const char *fmt, ...);

/* As pg_run for a statement without rows to keep: STORE_OK, or STORE_ERROR. *n (when non-NULL) = rows it changed. */
int pg_cmd(struct pg_store *s, enum pg_stmt id, const char *what, int64_t *n, const char *fmt,
	   ...);

/*
 * In a write transaction (pg_begin), takes the lock of the key kind:a:b
 * to the transaction's end, waiting up to the busy timeout ("is busy"
 * after it); outside one, does nothing. See pg_begin. STORE_OK or
 * STORE_ERROR.
 */
int pg_lock_key(struct pg_store *s, char kind, const char *a, const char *b);

/* Column c of row r: a new string (NULL for SQL NULL), or as an integer (0 for NULL). */
char *pg_text(const PGresult *res, int r, int c);
int64_t pg_int(const PGresult *res, int r, int c);
/* Column c of row r borrowed from res, NULL for SQL NULL. */
const char *pg_str(const PGresult *res, int r, int c);

/*
 * Closes a session of s (NULL is fine). In a forked child that never used
 * the handle (store.h: a handle belongs to the process that opened it) the
 * socket is closed first, so that the server is not told to end the
 * parent's session.
 */
void pg_finish(struct pg_store *s, PGconn *conn);

/*
 * A new session on the libpq URI conninfo (check PQstatus), with defaults
 * the URI may override: connect_timeout 5 s, TCP keepalives and
 * tcp_user_timeout 15 s, so a network cut fails a call within seconds.
 */
PGconn *pg_connect(const char *conninfo);

/* A libpq notice processor that drops them: notices (CREATE … IF NOT EXISTS, ROLLBACK outside a transaction, a server shutting down) are not errors. */
void pg_quiet(void *arg, const char *message);

/* Runs one-off SQL (migrations, LISTEN) on conn: 0, or -1 with the error recorded for what. */
int pg_exec_sql(struct pg_store *s, PGconn *conn, const char *sql, const char *what);

/* ---- migrate.c --------------------------------------------------------------------- */

/* The newest schema version of the embedded PostgreSQL migrations. */
int pg_schema_latest(void);

/*
 * Brings the database to the newest schema when migrate (init-db), else
 * checks that it is exactly there: 0, or -1 with the error recorded on s
 * naming both versions.
 */
int pg_migrate(struct pg_store *s, int migrate);

/* ---- the ops of queue.c, subs.c, history.c and wake.c, each with the contract of the
 * public function of the same name without "pg_" ---------------------------------- */

int pg_queue_enqueue(struct store *h, struct request_record *r, int64_t now);
int pg_queue_count_live(struct store *h, const char *connection_id, int64_t limit, int64_t *n);
int pg_queue_count_tenant_pending(struct store *h, const char *tenant, int64_t limit,
				  int64_t *n);
int pg_queue_unhold(struct store *h, const char *ids_json, int64_t now);
int pg_queue_claim(struct store *h, const char *owner, int64_t now, int64_t lease_ms,
		   struct request_record *out);
int pg_queue_renew(struct store *h, const char *id, const char *owner, int64_t now,
		   int64_t lease_ms, int *cancel);
int pg_queue_progress(struct store *h, const char *id, const char *owner, int64_t now,
		      int64_t lease_ms, int pct, const char *message, const char *metadata,
		      int *cancel);
int pg_queue_finish(struct store *h, const char *id, const char *owner, int64_t now,
		    const char *status, const char *result, const char *code,
		    const char *message, int64_t keep_ms);
int pg_queue_release(struct store *h, const char *id, const char *owner, int64_t now,
		     int64_t run_after);
int pg_queue_get_own(struct store *h, const char *tenant, const char *user,
		     const char *request_id, struct request_record *out);
int pg_queue_cancel(struct store *h, const char *id, int64_t now, int64_t keep_ms,
		    int *was_running, struct request_record *out);
int pg_queue_cancel_connection(struct store *h, const char *connection_id, int64_t now,
			       int64_t keep_ms, int *n);
int pg_queue_gc(struct store *h, int64_t now, int *n);

int pg_subs_add(struct store *h, const char *connection_id, const char *tenant,
		const char *topic, int presence, int max, int64_t now,
		enum subs_add_result *result);
int pg_subs_remove(struct store *h, const char *connection_id, const char *topic);
int pg_subs_topic_members(struct store *h, const char *tenant, const char *topic, int64_t now,
			  subs_id_fn fn, void *arg);
int pg_subs_user_connections(struct store *h, const char *tenant, const char *user,
			     int64_t now, subs_id_fn fn, void *arg);
int pg_subs_tenant_connections(struct store *h, const char *tenant, int64_t now,
			       subs_id_fn fn, void *arg);
int pg_subs_expired_connections(struct store *h, int64_t now, int limit, subs_id_fn fn,
				void *arg);
int pg_subs_presence(struct store *h, const char *tenant, const char *topic, int64_t now,
		     int limit, subs_user_fn fn, void *arg);
int pg_subs_presence_count(struct store *h, const char *tenant, const char *topic, int64_t now,
			   int64_t *users, int64_t *connections);
int pg_subs_user_topic_count(struct store *h, const char *tenant, const char *topic,
			     const char *user, int64_t now, int64_t *n);
int pg_subs_connection_topics(struct store *h, const char *connection_id, subs_topic_fn fn,
			      void *arg);
int pg_subs_presence_watchers(struct store *h, const char *tenant, const char *topic,
			      int64_t now, subs_id_fn fn, void *arg);
int pg_subs_patterns(struct store *h, const char *tenant, int64_t now, subs_topic_fn fn,
		     void *arg);

int pg_history_append(struct store *h, const char *stream, const char *target,
		      const char *text, int64_t now, const struct history_limits *lim,
		      struct stream_pos *pos);
int pg_history_position(struct store *h, const char *stream, struct stream_pos *pos);
int pg_history_read(struct store *h, const char *stream, int64_t after, int64_t limit,
		    int64_t now, int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
		    int (*fn)(void *arg, const struct history_entry *e), void *arg);
int pg_history_positions(struct store *h, const char *connection_id, const char *const *names,
			 size_t n, const char *topic_prefix, int64_t since, history_pos_fn fn,
			 void *arg);
int pg_history_gc(struct store *h, int64_t now, int64_t ttl_ms, int64_t idle_ms,
		  int64_t *messages, int64_t *streams);

int pg_wake_listen(struct store *h, char *err, size_t errlen);
int pg_wake_fd(struct store *h);
void pg_wake_drain(struct store *h);
void pg_wake_notify(struct store *h);
void pg_wake_close(struct store *h);

#endif
