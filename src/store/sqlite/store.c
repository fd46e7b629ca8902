/* store.c - the SQLite engine: one database in WAL mode shared by every process on the host; opening, errors, transactions, connections, the ops table. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "log.h"
#include "sqlite_int.h"

static const char *const stmt_sql[STMT_COUNT] = {
#define X(name, sql) [name] = sql,
	STORE_SQL_STATEMENTS(X)
	QUEUE_SQL_STATEMENTS(X)
	SUBS_SQL_STATEMENTS(X)
	HISTORY_SQL_STATEMENTS(X)
#undef X
};

/* How often the store looks whether its file was deleted or replaced (one stat()). */
#define STORE_CHECK_INTERVAL_US (2 * 1000000)

void sqlite_set_error(struct sqlite_store *s, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	text = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(text, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_reset(&s->errmsg);
	buf_append(&s->errmsg, text, (size_t)n);
	free(text);
}

/*
 * Records sqlite's current error on s->db for the operation what and returns
 * STORE_ERROR. A lock still held by another process once the busy timeout
 * has run out says so plainly: that is an overload, not a broken database.
 */
int sqlite_fail(struct sqlite_store *s, const char *what)
{
	int code = sqlite3_errcode(s->db) & 0xff;

	/* An error may come from a file deleted or replaced under us: say that instead. */
	if (sqlite_check_file(s, 1) != STORE_OK)
		return STORE_ERROR;
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		sqlite_set_error(s, "database %s is busy: %s: still locked after the busy timeout (%s)",
				 s->path, what, sqlite3_errmsg(s->db));
	else
		sqlite_set_error(s, "database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return STORE_ERROR;
}

/*
 * Whether the path still names the file this handle opened (SQLite compares
 * the inode it opened with a stat() of the path). At most one stat() per
 * STORE_CHECK_INTERVAL_US unless force. Once the file is gone or replaced
 * the handle stays failed: writes would go to an unlinked file that no
 * other process sees. The first detection is logged as an error.
 */
int sqlite_check_file(struct sqlite_store *s, int force)
{
	int64_t now;
	int moved = 0;

	if (s->moved)
		goto moved;
	if (!s->db)
		return STORE_OK;
	now = time_mono_us();
	if (!force && now < s->next_check_us)
		return STORE_OK;
	s->next_check_us = now + STORE_CHECK_INTERVAL_US;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
	    !moved)
		return STORE_OK;
	s->moved = 1;
	log_event(LOG_ERROR, "database_replaced",
		  json_pack("{s:s,s:s}", "path", s->path, "message",
			    "the database file was deleted or replaced while open; this process "
			    "refuses to use it: restore the file or run 'streamer init-db', then "
			    "restart the workers and processors"));
moved:
	sqlite_set_error(s, "database %s was deleted or replaced while this process had it open; "
			 "restart the process (run 'streamer init-db' first if the file is missing)",
			 s->path);
	return STORE_ERROR;
}

void sqlite_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	/* SQLITE_STATIC is safe: bindings are cleared before every return. */
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Returns a new copy of column i, or of if_null (which may be NULL) for SQL NULL. */
static char *col_text(sqlite3_stmt *st, int i, const char *if_null)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return xstrdup(if_null);
	t = sqlite3_column_text(st, i);
	if (!t) {
		/* Only an allocation failure gives NULL here: the process-wide OOM policy. */
		fputs("streamer: out of memory reading the database\n", stderr);
		abort();
	}
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

/* Fills r from the current row of st, whose columns are STORE_SQL_CONN_COLUMNS. */
static void read_row(sqlite3_stmt *st, struct conn_record *r)
{
	r->id = col_text(st, 0, "");
	r->user_id = col_text(st, 1, "");
	r->tenant_id = col_text(st, 2, "");
	r->permissions = col_text(st, 3, "[]");
	r->user_agent = col_text(st, 4, NULL);
	r->source_addr = col_text(st, 5, NULL);
	r->connected_at = sqlite3_column_int64(st, 6);
	r->last_active_at = sqlite3_column_int64(st, 7);
	r->expires_at = sqlite3_column_int64(st, 8);
	r->messages_received = sqlite3_column_int64(st, 9);
	r->messages_sent = sqlite3_column_int64(st, 10);
	r->token_expires_at = sqlite3_column_int64(st, 11); /* NULL reads as 0: no limit */
	r->topic_claims = col_text(st, 12, NULL);
}

int sqlite_run_exec(struct sqlite_store *s, enum sqlite_stmt id, const char *what)
{
	sqlite3_stmt *st = s->stmt[id];
	int ret = STORE_OK;

	if (sqlite3_step(st) != SQLITE_DONE)
		ret = sqlite_fail(s, what);
	sqlite_done(st);
	return ret;
}

/*
 * Runs bound statement id, which returns at most one row, to completion.
 * Returns STORE_OK and fills *out (when non-NULL) if there was a row,
 * STORE_NOTFOUND if there was none.
 */
static int run_one(struct sqlite_store *s, enum sqlite_stmt id, const char *what,
		   struct conn_record *out)
{
	sqlite3_stmt *st = s->stmt[id];
	struct conn_record r = { 0 };
	int ret = STORE_ERROR;
	int rc;

	if (sqlite_check_file(s, 0) != STORE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = sqlite_fail(s, what);
		goto out;
	}
	if (out)
		read_row(st, &r);
	/* Step to the end: a write's RETURNING row comes before its commit. */
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = sqlite_fail(s, what);
		goto out;
	}
	if (out) {
		*out = r;
		memset(&r, 0, sizeof r);
	}
	ret = STORE_OK;
out:
	conn_record_free(&r);
	sqlite_done(st);
	return ret;
}

/*
 * Prepares every statement of the engine (connections, queue,
 * subscriptions, streams) once, for the life of the handle: the one place
 * that does.
 */
static int prepare_all(struct sqlite_store *s)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		const char *tail = NULL;

		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmt[i], &tail) != SQLITE_OK) {
			sqlite_set_error(s, "database %s: preparing \"%s\": %s", s->path, stmt_sql[i],
					 sqlite3_errmsg(s->db));
			return -1;
		}
		if (tail && *tail) {
			sqlite_set_error(s, "database %s: \"%s\" is more than one statement", s->path,
					 stmt_sql[i]);
			return -1;
		}
	}
	return 0;
}

static void sqlite_close(struct store *h);

static int sqlite_open(struct store **out, const char *path, const struct store_options *opt,
		       int flags, char *err, size_t errlen)
{
	struct sqlite_store *s = xcalloc(1, sizeof *s);
	int busy_timeout_ms = opt->busy_timeout_ms;
	struct stat sb;
	char mode[32];
	int memory = path && strcmp(path, ":memory:") == 0;
	int ret = -1;
	int rc;

	*out = NULL;
	s->base.ops = &store_sqlite_ops;
	s->wake_fd = -1;
	s->path = xstrdup(path ? path : "");
	buf_puts(&s->errmsg, "");
	if (!path || !*path) {
		sqlite_set_error(s, "no database path given");
		goto out;
	}
	if (memory) {
		/* not a file: refused below, as it cannot be in WAL mode */
	} else if (flags & STORE_OPEN_CREATE) {
		char why[512];

		if (sqlite_create_file(path, -1, why, sizeof why) < 0) {
			sqlite_set_error(s, "%s", why);
			goto out;
		}
	} else if (stat(path, &sb) != 0) {
		sqlite_set_error(s, "database %s %s; create it with 'streamer init-db'", path,
				 errno == ENOENT ? "does not exist" : strerror(errno));
		goto out;
	}
	/* Never SQLITE_OPEN_CREATE for a file: only sqlite_create_file makes one. */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			     (memory ? SQLITE_OPEN_CREATE : 0), NULL);
	if (rc != SQLITE_OK) {
		sqlite_set_error(s, "cannot open database %s: %s", path,
				 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto out;
	}
	/* Set first: switching to WAL and migrating may wait for other processes. */
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		sqlite_set_error(s, "database %s is read-only for this process", path);
		goto out;
	}
	/*
	 * Two processes switching a new database to WAL at once: the loser can
	 * get SQLITE_BUSY without the busy handler being called (it would have
	 * to upgrade a lock it shares), so retry for the busy timeout.
	 */
	for (int waited = 0;; waited += 10) {
		if (sqlite_pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof mode) == 0)
			break;
		if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY || waited >= busy_timeout_ms)
			goto out;
		sqlite3_sleep(10);
	}
	if (strcasecmp(mode, "wal") != 0) {
		sqlite_set_error(s, "database %s cannot use WAL mode (journal_mode is \"%s\"); "
				 "it must be a local file on a filesystem with shared memory", path, mode);
		goto out;
	}
	if (sqlite_exec(s, "PRAGMA synchronous=NORMAL", "setting synchronous") < 0 ||
	    sqlite_exec(s, "PRAGMA foreign_keys=ON", "enabling foreign keys") < 0)
		goto out;
	if (sqlite_migrate(s) < 0 || prepare_all(s) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		snprintf(err, errlen, "%s", s->errmsg.data);
		sqlite_close(&s->base);
	} else {
		*out = &s->base;
	}
	return ret;
}

static void sqlite_close(struct store *h)
{
	struct sqlite_store *s = sq(h);

	if (!s)
		return;
	sqlite_wake_close(h);
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* Every statement is finalized, so this closes now (and the last one out checkpoints). */
	sqlite3_close_v2(s->db);
	free(s->path);
	buf_free(&s->errmsg);
	free(s);
}

static const char *sqlite_errmsg(struct store *h)
{
	struct sqlite_store *s = sq(h);

	return s && s->errmsg.data ? s->errmsg.data : "";
}

static int sqlite_schema_version(struct store *h)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_USER_VERSION];
	int v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		sqlite_fail(s, "reading user_version");
	sqlite_done(st);
	return v;
}

static int sqlite_begin(struct store *h)
{
	struct sqlite_store *s = sq(h);

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	return sqlite_run_exec(s, STMT_BEGIN, "begin");
}

static int sqlite_begin_read(struct store *h)
{
	struct sqlite_store *s = sq(h);

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	return sqlite_run_exec(s, STMT_BEGIN_READ, "begin read");
}

static int sqlite_commit(struct store *h)
{
	struct sqlite_store *s = sq(h);

	return sqlite_run_exec(s, STMT_COMMIT, "commit");
}

static void sqlite_rollback(struct store *h)
{
	struct sqlite_store *s = sq(h);

	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite_run_exec(s, STMT_ROLLBACK, "rollback");
}

static int sqlite_conn_put(struct store *h, const struct conn_record *r)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_CONN_PUT];

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (bind_text(st, 1, r->id) != SQLITE_OK ||
	    bind_text(st, 2, r->user_id) != SQLITE_OK ||
	    bind_text(st, 3, r->tenant_id) != SQLITE_OK ||
	    bind_text(st, 4, r->permissions ? r->permissions : "[]") != SQLITE_OK ||
	    bind_text(st, 5, r->user_agent) != SQLITE_OK ||
	    bind_text(st, 6, r->source_addr) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, r->connected_at) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, r->last_active_at) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 9, r->expires_at) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 10, r->messages_received) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 11, r->messages_sent) != SQLITE_OK ||
	    (r->token_expires_at > 0 ? sqlite3_bind_int64(st, 12, r->token_expires_at)
				     : sqlite3_bind_null(st, 12)) != SQLITE_OK ||
	    bind_text(st, 13, r->topic_claims) != SQLITE_OK ||
	    bind_text(st, 14, r->secret_hash) != SQLITE_OK) {
		sqlite_fail(s, "put connection");
		sqlite_done(st);
		return STORE_ERROR;
	}
	if (sqlite_run_exec(s, STMT_CONN_PUT, "put connection") != STORE_OK)
		return STORE_ERROR;
	/* Nothing inserted: the live row of someone else stood in the way. */
	return sqlite3_changes(s->db) == 0 ? STORE_CONFLICT : STORE_OK;
}

static int sqlite_conn_secret(struct store *h, const char *id, char **hash_hex)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_CONN_SECRET];
	int ret, rc;

	*hash_hex = NULL;
	if (bind_text(st, 1, id) != SQLITE_OK) {
		ret = sqlite_fail(s, "read connection secret");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
	} else if (rc == SQLITE_ROW) {
		*hash_hex = col_text(st, 0, NULL);
		ret = STORE_OK;
	} else {
		ret = sqlite_fail(s, "read connection secret");
	}
out:
	sqlite_done(st);
	return ret;
}

/* Binds now, now + ttl_ms and id as ?1, ?2, ?3 of a touch or keep-alive. */
static int bind_expiry(struct sqlite_store *s, enum sqlite_stmt id, const char *what,
		       const char *conn_id, int64_t now, int64_t ttl_ms)
{
	sqlite3_stmt *st = s->stmt[id];
	int64_t expires;

	if (__builtin_add_overflow(now, ttl_ms, &expires)) {
		sqlite_set_error(s, "database %s: %s: now + ttl overflows", s->path, what);
		return STORE_ERROR;
	}
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, expires) != SQLITE_OK ||
	    bind_text(st, 3, conn_id) != SQLITE_OK) {
		sqlite_fail(s, what);
		sqlite_done(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int sqlite_conn_touch(struct store *h, const char *id, const struct conn_touch *t)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_CONN_TOUCH];

	if (sqlite3_bind_int64(st, 1, t->now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, t->expires_at) != SQLITE_OK ||
	    bind_text(st, 3, id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, t->active_at) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, t->received) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, t->sent) != SQLITE_OK) {
		sqlite_fail(s, "touch connection");
		sqlite_done(st);
		return STORE_ERROR;
	}
	return run_one(s, STMT_CONN_TOUCH, "touch connection", NULL);
}

static int sqlite_conn_refresh(struct store *h, const char *id, const char *permissions,
			       const char *topic_claims, int64_t token_expires_at, int64_t now,
			       int64_t ttl_ms, struct conn_record *out)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_CONN_REFRESH];

	if (bind_expiry(s, STMT_CONN_REFRESH, "refresh connection", id, now, ttl_ms) != STORE_OK)
		return STORE_ERROR;
	if (bind_text(st, 4, permissions ? permissions : "[]") != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, token_expires_at) != SQLITE_OK ||
	    bind_text(st, 6, topic_claims) != SQLITE_OK) {
		sqlite_fail(s, "refresh connection");
		sqlite_done(st);
		return STORE_ERROR;
	}
	return run_one(s, STMT_CONN_REFRESH, "refresh connection", out);
}

/* Binds id as ?1 of statement sid and runs it for at most one row. */
static int run_by_id(struct sqlite_store *s, enum sqlite_stmt sid, const char *what, const char *id,
		     struct conn_record *out)
{
	sqlite3_stmt *st = s->stmt[sid];

	if (bind_text(st, 1, id) != SQLITE_OK) {
		sqlite_fail(s, what);
		sqlite_done(st);
		return STORE_ERROR;
	}
	return run_one(s, sid, what, out);
}

static int sqlite_conn_get(struct store *h, const char *id, struct conn_record *out)
{
	struct sqlite_store *s = sq(h);

	return run_by_id(s, STMT_CONN_GET, "get connection", id, out);
}

/* The length of column i of st's row plus its NUL, 0 for SQL NULL (for load_row's one reservation). */
static size_t col_size(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : (size_t)sqlite3_column_bytes(st, i) + 1;
}

/* Copies column i into arena (reserved by the caller), or if_null for SQL NULL. */
static char *col_into(sqlite3_stmt *st, int i, struct buf *arena, char *if_null)
{
	const unsigned char *t;
	size_t n;
	char *at;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return if_null;
	t = sqlite3_column_text(st, i);
	n = (size_t)sqlite3_column_bytes(st, i);
	if (!t) {
		fputs("streamer: out of memory reading the database\n", stderr);
		abort();
	}
	at = arena->data + arena->len;
	memcpy(at, t, n);
	at[n] = '\0';
	arena->len += n + 1;
	return at;
}

static int sqlite_conn_load(struct store *h, const char *id, struct conn_record *out,
			    struct buf *arena)
{
	static char empty[] = "", no_perms[] = "[]";
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_CONN_GET];
	size_t need = 0;
	int ret, rc;

	memset(out, 0, sizeof *out);
	arena->len = 0;
	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (bind_text(st, 1, id) != SQLITE_OK) {
		ret = sqlite_fail(s, "load connection");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, "load connection");
		goto out;
	}
	/* One reservation for every string: pointers into the arena stay put. */
	for (int i = 0; i < 6; i++)
		need += col_size(st, i);
	need += col_size(st, 12);
	buf_reserve(arena, need);
	out->id = col_into(st, 0, arena, empty);
	out->user_id = col_into(st, 1, arena, empty);
	out->tenant_id = col_into(st, 2, arena, empty);
	out->permissions = col_into(st, 3, arena, no_perms);
	out->user_agent = col_into(st, 4, arena, NULL);
	out->source_addr = col_into(st, 5, arena, NULL);
	out->connected_at = sqlite3_column_int64(st, 6);
	out->last_active_at = sqlite3_column_int64(st, 7);
	out->expires_at = sqlite3_column_int64(st, 8);
	out->messages_received = sqlite3_column_int64(st, 9);
	out->messages_sent = sqlite3_column_int64(st, 10);
	out->token_expires_at = sqlite3_column_int64(st, 11);
	out->topic_claims = col_into(st, 12, arena, NULL);
	ret = STORE_OK;
out:
	sqlite_done(st);
	return ret;
}

static int sqlite_conn_delete(struct store *h, const char *id, struct conn_record *out)
{
	struct sqlite_store *s = sq(h);

	return run_by_id(s, STMT_CONN_DELETE, "delete connection", id, out);
}

static int sqlite_conn_list(struct store *h, const char *tenant,
		    int (*fn)(const struct conn_record *r, void *ctx), void *ctx)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[tenant ? STMT_CONN_LIST_TENANT : STMT_CONN_LIST];
	int ret = STORE_OK;
	int rc;

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (tenant && bind_text(st, 1, tenant) != SQLITE_OK) {
		ret = sqlite_fail(s, "list connections");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct conn_record r = { 0 };
		int stop;

		read_row(st, &r);
		stop = fn(&r, ctx);
		conn_record_free(&r);
		if (stop)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = sqlite_fail(s, "list connections");
out:
	sqlite_done(st);
	return ret;
}

static int sqlite_ping(struct store *h)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_PING];
	int ret = STORE_OK;

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_step(st) != SQLITE_ROW)
		ret = sqlite_fail(s, "ping");
	sqlite_done(st);
	return ret;
}

static int sqlite_conn_count_user(struct store *h, const char *tenant, const char *user,
			  const char *except_id, int64_t now, int64_t limit, int64_t *n)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[STMT_CONN_COUNT_USER];
	int ret = STORE_OK;

	*n = 0;
	if (sqlite_bind(s, st, "ttiti", tenant, user, now, except_id, limit) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		ret = sqlite_fail(s, "count a user's connections");
	sqlite_done(st);
	return ret;
}

int sqlite_bind(struct sqlite_store *s, sqlite3_stmt *st, const char *fmt, ...)
{
	va_list ap;
	int rc = SQLITE_OK;

	if (sqlite_check_file(s, 0) != STORE_OK) {
		sqlite_done(st);
		return STORE_ERROR;
	}
	va_start(ap, fmt);
	for (int i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
		if (*fmt == 't') {
			const char *v = va_arg(ap, const char *);

			rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
		} else {
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite_fail(s, "binding a statement");
		sqlite_done(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

char *sqlite_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(st, i);
	if (!t) {
		fputs("streamer: out of memory reading the database\n", stderr);
		abort();
	}
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

static int sqlite_claims_plain(const char *url)
{
	(void)url;
	return 1; /* a plain path has always been an SQLite file */
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.claims_plain = sqlite_claims_plain,
	.local_file = 1,
	.create = sqlite_create_file,
	.open = sqlite_open,
	.close = sqlite_close,
	.errmsg = sqlite_errmsg,
	.schema_version = sqlite_schema_version,
	.schema_latest = sqlite_schema_latest,
	.begin = sqlite_begin,
	.begin_read = sqlite_begin_read,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.ping = sqlite_ping,
	.conn_put = sqlite_conn_put,
	.conn_touch = sqlite_conn_touch,
	.conn_refresh = sqlite_conn_refresh,
	.conn_secret = sqlite_conn_secret,
	.conn_get = sqlite_conn_get,
	.conn_load = sqlite_conn_load,
	.conn_delete = sqlite_conn_delete,
	.conn_list = sqlite_conn_list,
	.conn_count_user = sqlite_conn_count_user,
	.queue_enqueue = sqlite_queue_enqueue,
	.queue_count_live = sqlite_queue_count_live,
	.queue_count_tenant_pending = sqlite_queue_count_tenant_pending,
	.queue_unhold = sqlite_queue_unhold,
	.queue_claim = sqlite_queue_claim,
	.queue_renew = sqlite_queue_renew,
	.queue_progress = sqlite_queue_progress,
	.queue_finish = sqlite_queue_finish,
	.queue_release = sqlite_queue_release,
	.queue_get_own = sqlite_queue_get_own,
	.queue_cancel = sqlite_queue_cancel,
	.queue_cancel_connection = sqlite_queue_cancel_connection,
	.queue_gc = sqlite_queue_gc,
	.subs_add = sqlite_subs_add,
	.subs_remove = sqlite_subs_remove,
	.subs_topic_members = sqlite_subs_topic_members,
	.subs_user_connections = sqlite_subs_user_connections,
	.subs_tenant_connections = sqlite_subs_tenant_connections,
	.subs_expired_connections = sqlite_subs_expired_connections,
	.subs_presence = sqlite_subs_presence,
	.subs_presence_count = sqlite_subs_presence_count,
	.subs_user_topic_count = sqlite_subs_user_topic_count,
	.subs_connection_topics = sqlite_subs_connection_topics,
	.subs_presence_watchers = sqlite_subs_presence_watchers,
	.subs_patterns = sqlite_subs_patterns,
	.history_append = sqlite_history_append,
	.history_position = sqlite_history_position,
	.history_read = sqlite_history_read,
	.history_positions = sqlite_history_positions,
	.history_gc = sqlite_history_gc,
	.gauges = sqlite_gauges,
	.activity = sqlite_activity,
	.wake_listen = sqlite_wake_listen,
	.wake_fd = sqlite_wake_fd,
	.wake_drain = sqlite_wake_drain,
	.wake_notify = sqlite_wake_notify,
	.wake_close = sqlite_wake_close,
};
