/* store_sqlite.c - the connection store on one SQLite database in WAL mode, shared by every process on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sql.h"
#include "store_sqlite_int.h"
#include "store_sqlite_sql.h"
#include "util.h"

enum stmt_id {
#define X(name, sql) name,
	STORE_SQL_STATEMENTS(X)
#undef X
	STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
#define X(name, sql) [name] = sql,
	STORE_SQL_STATEMENTS(X)
#undef X
};

/*
 * One handle per process, used by one thread at a time (the connection is
 * opened with SQLITE_OPEN_NOMUTEX). Every statement is prepared once in
 * store_open; each call binds, steps, then resets and clears its statement
 * before returning, so no statement stays active between calls.
 */
struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[STMT_COUNT];
	struct buf errmsg;     /* the last error, "" when none yet */
	int64_t next_check_us; /* monotonic time of the next check that the file is still ours */
	int moved;             /* the path no longer names the open file: every call fails */
};

/* How often the store looks whether its file was deleted or replaced (one stat()). */
#define STORE_CHECK_INTERVAL_US (2 * 1000000)

static void set_error(struct store *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int check_file(struct store *s, int force);

static void set_error(struct store *s, const char *fmt, ...)
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
static int db_error(struct store *s, const char *what)
{
	int code = sqlite3_errcode(s->db) & 0xff;

	/* An error may come from a file deleted or replaced under us: say that instead. */
	if (check_file(s, 1) != STORE_OK)
		return STORE_ERROR;
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		set_error(s, "database %s is busy: %s: still locked after the busy timeout (%s)",
			  s->path, what, sqlite3_errmsg(s->db));
	else
		set_error(s, "database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return STORE_ERROR;
}

/*
 * Whether the path still names the file this handle opened (SQLite compares
 * the inode it opened with a stat() of the path). At most one stat() per
 * STORE_CHECK_INTERVAL_US unless force. Once the file is gone or replaced
 * the handle stays failed: writes would go to an unlinked file that no
 * other process sees. The first detection is logged as an error.
 */
static int check_file(struct store *s, int force)
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
	set_error(s, "database %s was deleted or replaced while this process had it open; "
		  "restart the process (run 'streamer init-db' first if the file is missing)",
		  s->path);
	return STORE_ERROR;
}

int store_check(struct store *s)
{
	return check_file(s, 0);
}

/* Makes st ready for its next use; also right after an error. */
static void stmt_done(sqlite3_stmt *st)
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
}

void conn_record_free(struct conn_record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->user_id);
	free(r->tenant_id);
	free(r->permissions);
	free(r->user_agent);
	free(r->source_addr);
	free(r->secret_hash);
	memset(r, 0, sizeof *r);
}

/* Runs bound statement id, which returns no rows, to completion. */
static int run_exec(struct store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = s->stmt[id];
	int ret = STORE_OK;

	if (sqlite3_step(st) != SQLITE_DONE)
		ret = db_error(s, what);
	stmt_done(st);
	return ret;
}

/*
 * Runs bound statement id, which returns at most one row, to completion.
 * Returns STORE_OK and fills *out (when non-NULL) if there was a row,
 * STORE_NOTFOUND if there was none.
 */
static int run_one(struct store *s, enum stmt_id id, const char *what, struct conn_record *out)
{
	sqlite3_stmt *st = s->stmt[id];
	struct conn_record r = { 0 };
	int ret = STORE_ERROR;
	int rc;

	if (check_file(s, 0) != STORE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = db_error(s, what);
		goto out;
	}
	if (out)
		read_row(st, &r);
	/* Step to the end: a write's RETURNING row comes before its commit. */
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_error(s, what);
		goto out;
	}
	if (out) {
		*out = r;
		memset(&r, 0, sizeof r);
	}
	ret = STORE_OK;
out:
	conn_record_free(&r);
	stmt_done(st);
	return ret;
}

/* Runs one-off SQL of store_open (pragmas, migrations); never used per call. */
static int exec_sql(struct store *s, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(s->db) & 0xff;

		set_error(s, "database %s%s: %s: %s", s->path,
			  code == SQLITE_BUSY || code == SQLITE_LOCKED
			  ? " is busy (still locked after the busy timeout)" : "",
			  what, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Runs a one-row pragma of store_open and copies its first column as text
 * into out (outlen bytes). Returns 0, or -1 with the error recorded.
 */
static int pragma_text(struct store *s, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int ret = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(s, sql);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_error(s, sql);
		goto out;
	}
	t = sqlite3_column_text(st, 0);
	snprintf(out, outlen, "%s", t ? (const char *)t : "");
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static int read_user_version(struct store *s, int *v)
{
	char text[32];

	if (pragma_text(s, "PRAGMA user_version", text, sizeof text) < 0)
		return -1;
	*v = atoi(text);
	return 0;
}

int store_schema_latest(void)
{
	int latest = 0;

	for (const struct store_migration *m = store_migrations; m->sql; m++)
		if (m->version > latest)
			latest = m->version;
	return latest;
}

static int schema_too_new(struct store *s, int v)
{
	set_error(s, "database %s: database schema version %d is newer than this build (%d)",
		  s->path, v, store_schema_latest());
	return -1;
}

/*
 * Applies each embedded migration newer than the database, one transaction
 * each. BEGIN IMMEDIATE takes the write lock before user_version is read
 * again, so when several processes start at once exactly one applies each
 * step and the others see it done. (A future migration that must rebuild a
 * table cannot switch foreign_keys off here: the pragma is a no-op inside a
 * transaction; such a step needs its own handling.)
 */
static int migrate(struct store *s)
{
	int latest = store_schema_latest();
	int v;

	if (read_user_version(s, &v) < 0)
		return -1;
	if (v > latest)
		return schema_too_new(s, v);
	for (const struct store_migration *m = store_migrations; m->sql; m++) {
		char what[300];
		char pragma[64];

		if (m->version <= v)
			continue;
		if (exec_sql(s, "BEGIN IMMEDIATE", "starting a migration") < 0)
			return -1;
		if (read_user_version(s, &v) < 0)
			goto fail;
		if (v > latest) {
			schema_too_new(s, v);
			goto fail;
		}
		if (m->version > v) {
			snprintf(what, sizeof what, "migration %s (version %d)", m->file, m->version);
			if (exec_sql(s, m->sql, what) < 0)
				goto fail;
			/* An integer of the build, not input: no parameter can bind a pragma. */
			snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
			if (exec_sql(s, pragma, what) < 0)
				goto fail;
			v = m->version;
		}
		if (exec_sql(s, "COMMIT", "committing a migration") < 0)
			goto fail;
	}
	return 0;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int prepare_all(struct store *s)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		const char *tail = NULL;

		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmt[i], &tail) != SQLITE_OK) {
			set_error(s, "database %s: preparing \"%s\": %s", s->path, stmt_sql[i],
				  sqlite3_errmsg(s->db));
			return -1;
		}
		if (tail && *tail) {
			set_error(s, "database %s: \"%s\" is more than one statement", s->path,
				  stmt_sql[i]);
			return -1;
		}
	}
	return 0;
}

int store_create_file(const char *path, long long gid, char *err, size_t errlen)
{
	mode_t mode = gid >= 0 ? 0640 : 0600;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
		return -1;
	}
	/* Exactly this mode whatever the umask; SQLite gives -wal and -shm the same. */
	if ((gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) < 0) || fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "cannot set the owner group or mode of database %s: %s", path,
			 strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 1;
}

int store_open(struct store **out, const char *path, int busy_timeout_ms, int flags,
	       char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	struct stat sb;
	char mode[32];
	int memory = path && strcmp(path, ":memory:") == 0;
	int ret = -1;
	int rc;

	*out = NULL;
	s->path = xstrdup(path ? path : "");
	buf_puts(&s->errmsg, "");
	if (!path || !*path) {
		set_error(s, "no database path given");
		goto out;
	}
	if (memory) {
		/* not a file: refused below, as it cannot be in WAL mode */
	} else if (flags & STORE_OPEN_CREATE) {
		char why[512];

		if (store_create_file(path, -1, why, sizeof why) < 0) {
			set_error(s, "%s", why);
			goto out;
		}
	} else if (stat(path, &sb) != 0) {
		set_error(s, "database %s %s; create it with 'streamer init-db'", path,
			  errno == ENOENT ? "does not exist" : strerror(errno));
		goto out;
	}
	/* Never SQLITE_OPEN_CREATE for a file: only store_create_file makes one. */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			     (memory ? SQLITE_OPEN_CREATE : 0), NULL);
	if (rc != SQLITE_OK) {
		set_error(s, "cannot open database %s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto out;
	}
	/* Set first: switching to WAL and migrating may wait for other processes. */
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		set_error(s, "database %s is read-only for this process", path);
		goto out;
	}
	/*
	 * Two processes switching a new database to WAL at once: the loser can
	 * get SQLITE_BUSY without the busy handler being called (it would have
	 * to upgrade a lock it shares), so retry for the busy timeout.
	 */
	for (int waited = 0;; waited += 10) {
		if (pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof mode) == 0)
			break;
		if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY || waited >= busy_timeout_ms)
			goto out;
		sqlite3_sleep(10);
	}
	if (strcasecmp(mode, "wal") != 0) {
		set_error(s, "database %s cannot use WAL mode (journal_mode is \"%s\"); "
			  "it must be a local file on a filesystem with shared memory", path, mode);
		goto out;
	}
	if (exec_sql(s, "PRAGMA synchronous=NORMAL", "setting synchronous") < 0 ||
	    exec_sql(s, "PRAGMA foreign_keys=ON", "enabling foreign keys") < 0)
		goto out;
	if (migrate(s) < 0 || prepare_all(s) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		snprintf(err, errlen, "%s", s->errmsg.data);
		store_close(s);
	} else {
		*out = s;
	}
	return ret;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* Every statement is finalized, so this closes now (and the last one out checkpoints). */
	sqlite3_close_v2(s->db);
	free(s->path);
	buf_free(&s->errmsg);
	free(s);
}

const char *store_errmsg(struct store *s)
{
	return s && s->errmsg.data ? s->errmsg.data : "";
}

int store_schema_version(struct store *s)
{
	sqlite3_stmt *st = s->stmt[STMT_USER_VERSION];
	int v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		db_error(s, "reading user_version");
	stmt_done(st);
	return v;
}

int store_begin(struct store *s)
{
	if (check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	return run_exec(s, STMT_BEGIN, "begin");
}

int store_commit(struct store *s)
{
	return run_exec(s, STMT_COMMIT, "commit");
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)run_exec(s, STMT_ROLLBACK, "rollback");
}

int store_conn_put(struct store *s, const struct conn_record *r)
{
	sqlite3_stmt *st = s->stmt[STMT_CONN_PUT];

	if (check_file(s, 0) != STORE_OK)
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
	    bind_text(st, 13, r->secret_hash) != SQLITE_OK) {
		db_error(s, "put connection");
		stmt_done(st);
		return STORE_ERROR;
	}
	if (run_exec(s, STMT_CONN_PUT, "put connection") != STORE_OK)
		return STORE_ERROR;
	/* Nothing inserted: the live row of someone else stood in the way. */
	return sqlite3_changes(s->db) == 0 ? STORE_CONFLICT : STORE_OK;
}

int store_conn_secret(struct store *s, const char *id, char **hash_hex)
{
	sqlite3_stmt *st = s->stmt[STMT_CONN_SECRET];
	int ret, rc;

	*hash_hex = NULL;
	if (bind_text(st, 1, id) != SQLITE_OK) {
		ret = db_error(s, "read connection secret");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
	} else if (rc == SQLITE_ROW) {
		*hash_hex = col_text(st, 0, NULL);
		ret = STORE_OK;
	} else {
		ret = db_error(s, "read connection secret");
	}
out:
	stmt_done(st);
	return ret;
}

/* Binds now, now + ttl_ms and id as ?1, ?2, ?3 of a touch or keep-alive. */
static int bind_expiry(struct store *s, enum stmt_id id, const char *what,
		       const char *conn_id, int64_t now, int64_t ttl_ms)
{
	sqlite3_stmt *st = s->stmt[id];
	int64_t expires;

	if (__builtin_add_overflow(now, ttl_ms, &expires)) {
		set_error(s, "database %s: %s: now + ttl overflows", s->path, what);
		return STORE_ERROR;
	}
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, expires) != SQLITE_OK ||
	    bind_text(st, 3, conn_id) != SQLITE_OK) {
		db_error(s, what);
		stmt_done(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_conn_touch(struct store *s, const char *id, int64_t now, int64_t ttl_ms,
		     struct conn_record *out)
{
	if (bind_expiry(s, STMT_CONN_TOUCH, "touch connection", id, now, ttl_ms) != STORE_OK)
		return STORE_ERROR;
	return run_one(s, STMT_CONN_TOUCH, "touch connection", out);
}

int store_conn_keepalive(struct store *s, const char *id, int64_t now, int64_t ttl_ms)
{
	if (bind_expiry(s, STMT_CONN_KEEPALIVE, "keep-alive", id, now, ttl_ms) != STORE_OK)
		return STORE_ERROR;
	return run_one(s, STMT_CONN_KEEPALIVE, "keep-alive", NULL);
}

int store_conn_refresh(struct store *s, const char *id, const char *permissions,
		       int64_t token_expires_at, int64_t now, int64_t ttl_ms,
		       struct conn_record *out)
{
	sqlite3_stmt *st = s->stmt[STMT_CONN_REFRESH];

	if (bind_expiry(s, STMT_CONN_REFRESH, "refresh connection", id, now, ttl_ms) != STORE_OK)
		return STORE_ERROR;
	if (bind_text(st, 4, permissions ? permissions : "[]") != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, token_expires_at) != SQLITE_OK) {
		db_error(s, "refresh connection");
		stmt_done(st);
		return STORE_ERROR;
	}
	return run_one(s, STMT_CONN_REFRESH, "refresh connection", out);
}

int store_conn_add_sent(struct store *s, const char *id, int64_t n)
{
	sqlite3_stmt *st = s->stmt[STMT_CONN_ADD_SENT];

	if (sqlite3_bind_int64(st, 1, n) != SQLITE_OK || bind_text(st, 2, id) != SQLITE_OK) {
		db_error(s, "count sent messages");
		stmt_done(st);
		return STORE_ERROR;
	}
	return run_one(s, STMT_CONN_ADD_SENT, "count sent messages", NULL);
}

/* Binds id as ?1 of statement sid and runs it for at most one row. */
static int run_by_id(struct store *s, enum stmt_id sid, const char *what, const char *id,
		     struct conn_record *out)
{
	sqlite3_stmt *st = s->stmt[sid];

	if (bind_text(st, 1, id) != SQLITE_OK) {
		db_error(s, what);
		stmt_done(st);
		return STORE_ERROR;
	}
	return run_one(s, sid, what, out);
}

int store_conn_get(struct store *s, const char *id, struct conn_record *out)
{
	return run_by_id(s, STMT_CONN_GET, "get connection", id, out);
}

int store_conn_delete(struct store *s, const char *id, struct conn_record *out)
{
	return run_by_id(s, STMT_CONN_DELETE, "delete connection", id, out);
}

int store_conn_list(struct store *s, const char *tenant,
		    int (*fn)(const struct conn_record *r, void *ctx), void *ctx)
{
	sqlite3_stmt *st = s->stmt[tenant ? STMT_CONN_LIST_TENANT : STMT_CONN_LIST];
	int ret = STORE_OK;
	int rc;

	if (check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (tenant && bind_text(st, 1, tenant) != SQLITE_OK) {
		ret = db_error(s, "list connections");
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
		ret = db_error(s, "list connections");
out:
	stmt_done(st);
	return ret;
}

int store_ping(struct store *s)
{
	sqlite3_stmt *st = s->stmt[STMT_PING];
	int ret = STORE_OK;

	if (check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_step(st) != SQLITE_ROW)
		ret = db_error(s, "ping");
	stmt_done(st);
	return ret;
}

sqlite3 *store_sqlite_db(struct store *s)
{
	return s->db;
}

int store_sqlite_fail(struct store *s, const char *what)
{
	return db_error(s, what);
}

/* Makes st ready for its next use; also right after an error. */
void store_sqlite_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Binds the parameters of st from a format: 't' text (const char *, NULL =
 * SQL NULL), 'i' int64_t. Bindings are SQLITE_STATIC: every caller clears
 * them with done() before its strings go away.
 */
int store_conn_count_user(struct store *s, const char *tenant, const char *user,
			  const char *except_id, int64_t now, int64_t limit, int64_t *n)
{
	sqlite3_stmt *st = s->stmt[STMT_CONN_COUNT_USER];
	int ret = STORE_OK;

	*n = 0;
	if (store_sqlite_bind(s, st, "ttiti", tenant, user, now, except_id, limit) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		ret = store_sqlite_fail(s, "count a user's connections");
	stmt_done(st);
	return ret;
}

int store_sqlite_bind(struct store *s, sqlite3_stmt *st, const char *fmt, ...)
{
	va_list ap;
	int rc = SQLITE_OK;

	if (check_file(s, 0) != STORE_OK) {
		store_sqlite_done(st);
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
		store_sqlite_fail(s, "binding a statement");
		store_sqlite_done(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

char *store_sqlite_col_text(sqlite3_stmt *st, int i)
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
