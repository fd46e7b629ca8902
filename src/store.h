/* store.h - the store interface: opening an engine by URL, transactions, connections, gauges, report activity, processor wake-ups. */
#ifndef STREAMER_STORE_H
#define STREAMER_STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Everything the workers, the processors and the CLI keep goes through this
 * interface and its two sections queue.h (the request queue) and subs.h
 * (topic subscriptions). An engine implements it in its own folder,
 * src/store/<engine>/, behind one struct store_ops (store_engine.h); the
 * functions here only dispatch through the handle's ops. STREAMER_DB picks
 * the engine at run time (see store_open). No engine type shows here.
 *
 * Functions return STORE_OK, STORE_NOTFOUND or STORE_ERROR (details in
 * store_errmsg), store_conn_put also STORE_CONFLICT. Times are milliseconds since the epoch.
 *
 * A handle belongs to one process and is used by one thread at a time; open
 * it after fork, never before. Functions filling a struct conn_record *out
 * overwrite it (free what it held first); the caller then owns the strings
 * and releases them with conn_record_free. A lock held by another process
 * beyond the busy timeout gives STORE_ERROR with "is busy" in store_errmsg.
 *
 * Every call first checks that the store is still the one the handle
 * opened. SQLite: that the path still names the file it opened, so that a
 * database deleted or replaced under a running process is detected (one
 * stat() at most every 2 s, and at once after any error). From then on
 * every call fails with STORE_ERROR and a store_errmsg naming the file, and
 * the first detection is logged as an error ("database_replaced").
 *
 * Transactions. Every call outside store_begin … store_commit commits on
 * its own. The callers run these groups in one store_begin transaction, and
 * they must stay atomic whatever the engine (store_begin takes the write
 * lock on SQLite; PostgreSQL locks, for each group, the one connection
 * row, user or tenant it counts or changes: see pg_begin):
 *  - connect (conn.c): store_conn_count_user + store_conn_put, so two
 *    workers cannot both take a user's last connection place;
 *  - one client message whose action writes (conn.c): store_conn_secret
 *    (plain HTTP dialect) + store_conn_load + what its handler does
 *    (queue_count_live + queue_count_tenant_pending + queue_enqueue, or
 *    subs_add / subs_remove, or queue_cancel, or history_append): its
 *    effects are stored all or nothing. A message whose action only reads
 *    runs in one store_begin_read snapshot. Either way the connection's
 *    touch, when one is due, is one store_conn_touch after the transaction;
 *  - disconnect (conn.c, and cli_push.c's forget): store_conn_secret +
 *    store_conn_delete (its subscriptions go with it) +
 *    queue_cancel_connection; subs_connection_topics before the delete
 *    reads, in the same transaction, the subscriptions it takes away.
 * Single calls that are atomic by contract: store_conn_put (the conflict
 * check and the insert), queue_claim (each row to exactly one claimer),
 * store_gauges (one snapshot of the three counts). subs_add counts then
 * inserts (or updates a held subscription's presence flag) and
 * queue_cancel tries PENDING then PROCESSING: only the caller's transaction
 * makes those one step. The other subs.h functions only read and need no
 * transaction.
 */
enum {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_ERROR = -1,
	STORE_CONFLICT = 2, /* store_conn_put: the id is live and belongs to someone else */
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
	int64_t token_expires_at; /* the token's exp + leeway (ms); expires_at never passes it; 0 = no limit */
	/*
	 * Hex SHA-256 of the plain HTTP dialect's connection secret (see
	 * secret.h), NULL for a WebSocket connection. Written by store_conn_put;
	 * the functions that read rows leave it NULL (store_conn_secret reads it).
	 */
	char *secret_hash;
	/*
	 * The token's topic claims as JSON text ({"topics":[…],"publish_topics":[…]}),
	 * NULL when it had neither; opaque to the store. Written by store_conn_put
	 * and store_conn_refresh, read by every function that fills a record.
	 */
	char *topic_claims;
};

/* Frees the strings of r and zeroes it. Safe on a zeroed record. */
void conn_record_free(struct conn_record *r);

/* store_open flags. */
#define STORE_OPEN_CREATE 0x1  /* create a missing database (as store_create, no group); `streamer init-db` only */

/*
 * Engine settings, each used by the engines it names and ignored by the
 * others. They are options rather than part of the URL because they come
 * from their own configuration variables (STREAMER_DB_BUSY_TIMEOUT), checked
 * with bounds by config.c, and the URL stays the one thing that names where
 * the data is; a NULL options pointer means the defaults.
 */
struct store_options {
	int busy_timeout_ms; /* SQLite: how long a call waits for another process's lock (default 5000) */
};

/*
 * The store URL: "sqlite:<path>" or a plain path (SQLite, the file at path,
 * exactly as before URLs existed); "postgresql://…" or "postgres://…" (a
 * libpq connection URI: the PostgreSQL engine, in builds configured with
 * libpq-dev); any other "<scheme>://…" gives "no store engine for …".
 * Returns the engine's ops and sets *target to what follows the scheme (the
 * path for SQLite, borrowed from url), or NULL with a reason in err.
 */
struct store_ops;
const struct store_ops *store_engine_of(const char *url, const char **target, char *err,
					size_t errlen);

/*
 * The path of one of the host's shared files (suffix ".metrics",
 * ".ratelimit", ".activity") for the store at url; the caller frees it.
 * host_dir (STREAMER_HOST_DIR) set and not empty: "<host_dir>/streamer<suffix>".
 * Otherwise beside a local file ("<path><suffix>" for "sqlite:<path>" or a
 * plain path), and for a store that is no local file (postgresql://…)
 * "/var/tmp/streamer-<16 hex digits><suffix>", the digits a hash of url
 * without its password, so every process of the host that uses the same
 * database finds the same file.
 */
char *store_host_file(const char *url, const char *host_dir, const char *suffix);

/*
 * url fit for a log line or a terminal: a password in its user info
 * ("scheme://user:secret@host") or in a "password=" parameter becomes "***".
 * Returns a new string (caller frees).
 */
char *store_url_redacted(const char *url);

/*
 * Creates an empty database at url when none exists. For SQLite: the file,
 * mode 0600, or 0640 owned by group gid when gid >= 0 (SQLite later gives
 * -wal and -shm the database's mode), never following a symbolic link.
 * Returns 1 when it created it, 0 when one existed, or -1 with a reason in err.
 */
int store_create(const char *url, long long gid, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Opens the store at url (see store_engine_of) with the engine settings in
 * opt (NULL = defaults), applies pending migrations (embedded at build
 * time) and prepares every statement. For SQLite the file is put in WAL
 * mode. Call once per process. A missing database is an error naming it and
 * `streamer init-db`, unless flags has STORE_OPEN_CREATE. PostgreSQL: the
 * database must exist (createdb); only STORE_OPEN_CREATE (init-db) applies
 * migrations, any other open refuses a schema older or newer than this
 * build, naming both versions. Returns 0 and a new handle, or -1 with a
 * reason in err.
 */
int store_open(struct store **out, const char *url, const struct store_options *opt, int flags,
	       char *err, size_t errlen) __attribute__((warn_unused_result));

void store_close(struct store *s);

/*
 * The schema version the open database is at (SQLite: PRAGMA user_version;
 * -1 on error), and the newest this build knows (the migrations in sql/,
 * numbered the same for every engine).
 */
int store_schema_version(struct store *s);
int store_schema_latest(void);

/* The last error's text for logs. Never NULL. */
const char *store_errmsg(struct store *s);

/*
 * One write transaction (SQLite: BEGIN IMMEDIATE … COMMIT): begin waits up
 * to the busy timeout for the write lock. When commit fails the transaction is still
 * open: call store_rollback. Rollback is safe when none is open. Calls
 * outside a transaction each commit on their own.
 */
int store_begin(struct store *s) __attribute__((warn_unused_result));
int store_commit(struct store *s) __attribute__((warn_unused_result));
void store_rollback(struct store *s);

/*
 * A read-only transaction: every read until store_commit (or
 * store_rollback) sees one snapshot of the database. It takes no write
 * lock and waits for none (SQLite: BEGIN DEFERRED in WAL mode); a write
 * inside it is the caller's bug. Ends like store_begin's.
 */
int store_begin_read(struct store *s) __attribute__((warn_unused_result));

/*
 * Inserts r, replacing a row with the same id: that is a new connection, so
 * the old row's dependent rows are deleted with it. NULL permissions are
 * stored as "[]". Only r->id, r->user_id and r->tenant_id are required.
 * A row with the same id that is still live at r->connected_at (expires_at
 * later) and belongs to another user_id or tenant_id, or to the other
 * dialect (secret_hash NULL on one side only), is left alone and the call
 * returns STORE_CONFLICT: the check and the insert are one statement.
 * A non-zero r->token_expires_at caps the stored expires_at.
 */
int store_conn_put(struct store *s, const struct conn_record *r)
	__attribute__((warn_unused_result));

/*
 * What store_conn_touch writes: a connection's expiry, its last activity and
 * the message counts gathered since its last touch (activity.h).
 */
struct conn_touch {
	int64_t now;        /* the row must be live at now (expires_at > now) */
	int64_t expires_at; /* expires_at becomes max(its own, min(this, token_expires_at)) */
	int64_t active_at;  /* last_active_at becomes max(its own, this); 0 = left alone */
	int64_t received;   /* added to messages_received (>= 0) */
	int64_t sent;       /* added to messages_sent (>= 0) */
};

/*
 * Writes t to connection id if it exists and has not expired at t->now: the
 * expiry never moves back nor past the row's token_expires_at. Returns
 * STORE_NOTFOUND for a missing or expired row (left alone).
 */
int store_conn_touch(struct store *s, const char *id, const struct conn_touch *t)
	__attribute__((warn_unused_result));

/*
 * For auth.refresh: on the live row id (not expired at now) replaces the
 * permissions (JSON array text), topic_claims (JSON text; NULL stores NULL)
 * and token_expires_at (> 0) and sets expires_at = min(now + ttl_ms,
 * token_expires_at). Fills *out (when non-NULL) with the updated row.
 * STORE_NOTFOUND for a missing or expired row (left alone).
 */
int store_conn_refresh(struct store *s, const char *id, const char *permissions,
		       const char *topic_claims, int64_t token_expires_at, int64_t now,
		       int64_t ttl_ms, struct conn_record *out) __attribute__((warn_unused_result));

/*
 * The secret_hash of connection id, whatever its expiry: *hash_hex becomes a
 * new string (free it), or NULL for a WebSocket connection. STORE_NOTFOUND
 * when the row is absent.
 */
int store_conn_secret(struct store *s, const char *id, char **hash_hex)
	__attribute__((warn_unused_result));

/* Reads a row whatever its expiry. STORE_NOTFOUND when absent. */
int store_conn_get(struct store *s, const char *id, struct conn_record *out)
	__attribute__((warn_unused_result));

/*
 * As store_conn_get, for the per-message path: out's strings are copied
 * into arena (emptied first, then grown as needed; once it is large enough
 * a read allocates nothing) and are valid until arena is next used or
 * freed. Never pass such a record to conn_record_free.
 */
struct buf;
int store_conn_load(struct store *s, const char *id, struct conn_record *out, struct buf *arena)
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

/*
 * The gauges, read in one snapshot: connections not expired at now,
 * requests PENDING, requests PROCESSING. STORE_OK or STORE_ERROR.
 */
int store_gauges(struct store *s, int64_t now, int64_t *connections_active,
		 int64_t *requests_pending, int64_t *requests_running)
	__attribute__((warn_unused_result));

/* One event of a tenant's activity (for generate_report). Strings borrowed for the callback. */
struct store_activity_row {
	int64_t at_ms;         /* a connection's connect time, a request's creation time */
	const char *kind;      /* "connection" or "request" */
	const char *tenant_id;
	const char *id;        /* the request's client id; NULL for connections (their id is a credential) */
	const char *user_id;
	const char *action;    /* requests only, else NULL */
	const char *status;    /* requests only, else NULL */
	int64_t duration_ms;   /* requests: run time or -1; connections: last_active_at - connected_at */
};

/*
 * Calls fn for each connection and request of tenant with from_ms <= at_ms
 * < until_ms, in ascending at_ms; fn returning non-zero stops the walk (not
 * an error). fn must not call back into s. STORE_OK or STORE_ERROR.
 */
int store_activity(struct store *s, const char *tenant, int64_t from_ms, int64_t until_ms,
		   int (*fn)(void *arg, const struct store_activity_row *row), void *arg)
	__attribute__((warn_unused_result));

/*
 * Processor wake-ups. A worker that queued a request calls store_wake_notify
 * after its answer is out; an idle processor calls store_wake_listen once,
 * polls store_wake_fd for POLLIN and then store_wake_drain. A lost wake-up
 * costs only latency: processors also poll the queue every few seconds.
 * SQLite: one unix datagram socket per listener in "<database>.wake/"
 * (mode 0770), sockets of dead processors removed by the next notify.
 *
 * store_wake_listen returns 0, or -1 with a reason in err. store_wake_fd is
 * -1 when not listening. store_wake_notify never blocks and ignores errors.
 * store_wake_close stops listening (store_close does it too).
 */
int store_wake_listen(struct store *s, char *err, size_t errlen);
int store_wake_fd(struct store *s);
void store_wake_drain(struct store *s);
void store_wake_notify(struct store *s);
void store_wake_close(struct store *s);

#endif
