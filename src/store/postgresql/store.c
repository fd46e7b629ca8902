/* store.c - the PostgreSQL engine: one session per process on a database shared by every host; opening, errors, reconnecting, transactions, connections, the ops table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pg_int.h"

static const char *const stmt_sql[PG_STMT_COUNT] = {
#define X(name, sql) [name] = sql,
	PG_STORE_STATEMENTS(X)
	PG_QUEUE_STATEMENTS(X)
	PG_SUBS_STATEMENTS(X)
	PG_HISTORY_STATEMENTS(X)
#undef X
};

/* The name a statement is prepared under ("s<id>"), in a static buffer. */
static const char *stmt_name(enum pg_stmt id)
{
	static char name[16];

	snprintf(name, sizeof name, "s%d", (int)id);
	return name;
}

/* The most parameters a statement takes (H_POSITIONS and STMT_CONN_PUT). */
#define PG_MAX_PARAMS 16

/* Makes libpq's multi-line messages one line: each run of blanks with a newline or tab becomes one space; trailing ones go. */
static void one_line(char *t)
{
	char *w = t;

	for (char *r = t; *r;) {
		if (*r == '\n' || *r == '\t' || *r == '\r' || (*r == ' ' && (r[1] == '\n' || r[1] == '\t'))) {
			while (*r == '\n' || *r == '\t' || *r == '\r' || *r == ' ')
				r++;
			if (*r)
				*w++ = ' ';
		} else {
			*w++ = *r++;
		}
	}
	while (w > t && w[-1] == ' ')
		w--;
	*w = '\0';
}

int pg_set_error(struct pg_store *s, const char *fmt, ...)
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
	one_line(text); /* libpq's messages span lines: one line for the logs */
	buf_reset(&s->errmsg);
	buf_append(&s->errmsg, text, strlen(text));
	free(text);
	return STORE_ERROR;
}

/* Records res's error (or the session's) for what; a lost session and a lock timeout say so. */
static int pg_fail(struct pg_store *s, const PGresult *res, const char *what)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	char line[1024];

	if (!msg || !*msg)
		msg = PQerrorMessage(s->conn);
	snprintf(line, sizeof line, "%s", msg);
	one_line(line);
	msg = line;
	if (PQstatus(s->conn) != CONNECTION_OK) {
		int first = s->prepared;

		s->prepared = 0;
		pg_set_error(s, "database %s: %s: the connection was lost (%s); "
			     "the next call outside a transaction reconnects", s->where, what, msg);
		if (first)
			log_event(LOG_ERROR, "database_connection_lost",
				  json_pack("{s:s,s:s,s:s}", "database", s->where, "operation", what,
					    "message", s->errmsg.data));
		return STORE_ERROR;
	}
	if (state && strcmp(state, "55P03") == 0) /* lock_not_available: lock_timeout */
		return pg_set_error(s, "database %s is busy: %s: still locked after the busy "
				    "timeout (%s)", s->where, what, msg);
	return pg_set_error(s, "database %s: %s: %s", s->where, what, msg);
}

int pg_exec_sql(struct pg_store *s, PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_set_error(s, "database %s: %s: %s", s->where, what,
			     res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		ret = -1;
	}
	PQclear(res);
	return ret;
}

void pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Prepares statement id on the session the first time the session runs it
 * (a short-lived command prepares the few it uses, not all of them; a
 * worker prepares each once per session). A failure is reported as one
 * of what (the caller's operation). STORE_OK or STORE_ERROR.
 */
static int prepare_once(struct pg_store *s, enum pg_stmt id, const char *what)
{
	PGresult *res;

	if (s->stmt_ready[id])
		return STORE_OK;
	res = PQprepare(s->conn, stmt_name(id), stmt_sql[id], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail(s, res, what);
		PQclear(res);
		return STORE_ERROR;
	}
	PQclear(res);
	s->stmt_ready[id] = 1;
	return STORE_OK;
}

/*
 * What every session needs before its first call: lock_timeout from the
 * busy timeout (store.h: a lock held beyond it is an error saying "is
 * busy"), and generic plans.
 */
static int session_setup(struct pg_store *s, int busy_timeout_ms)
{
	char set[64];

	snprintf(set, sizeof set, "SET lock_timeout = %d", busy_timeout_ms);
	if (pg_exec_sql(s, s->conn, set, "setting the lock timeout") < 0)
		return -1;
	/* Every statement is a key or index lookup whose best plan does not depend on the
	 * values: plan each once, not at each of the first executions and whenever a custom
	 * plan looks cheaper (that planning was most of a message's server time). */
	if (pg_exec_sql(s, s->conn, "SET plan_cache_mode = force_generic_plan",
			"setting the plan cache mode") < 0)
		return -1;
	memset(s->stmt_ready, 0, sizeof s->stmt_ready); /* prepared on first use (prepare_once) */
	s->prepared = 1;
	return 0;
}

/*
 * Makes the session usable for what: reconnects a lost one (PQreset) and
 * prepares again, unless a transaction was open on it (its work is gone:
 * the caller must roll back, and the next call reconnects). After a failed
 * reconnect the next try waits PG_RECONNECT_PAUSE_MS: the calls in between
 * fail at once, so a database whose host does not answer (a connect that
 * takes the whole connect_timeout) holds up one call, not every one.
 */
#define PG_RECONNECT_PAUSE_MS 500

/* Reads (and drops) the answer to a read transaction's end that pg_rollback sent without waiting. */
static void end_drain(struct pg_store *s)
{
	PGresult *res;

	if (!s->end_pending)
		return;
	s->end_pending = 0;
	while ((res = PQgetResult(s->conn)) != NULL)
		PQclear(res);
}

static int pg_ready(struct pg_store *s, const char *what)
{
	int64_t now;

	end_drain(s);
	if (s->prepared && PQstatus(s->conn) == CONNECTION_OK)
		return STORE_OK;
	/* A transaction whose BEGIN was not sent yet lost nothing: reconnect. */
	if (s->in_txn && !s->begin_pending)
		return pg_set_error(s, "database %s: %s: the connection was lost inside a "
				    "transaction; roll it back", s->where, what);
	s->prepared = 0;
	if (PQstatus(s->conn) != CONNECTION_OK) {
		now = (time_mono_us() / 1000);
		if (s->reconnect_at && now < s->reconnect_at)
			return pg_set_error(s, "database %s: %s: cannot reconnect (the next try in "
					    "%lld ms)", s->where, what,
					    (long long)(s->reconnect_at - now));
		PQreset(s->conn);
		if (PQstatus(s->conn) != CONNECTION_OK) {
			s->reconnect_at = (time_mono_us() / 1000) + PG_RECONNECT_PAUSE_MS;
			return pg_set_error(s, "database %s: %s: cannot reconnect: %s", s->where, what,
					    PQerrorMessage(s->conn));
		}
		s->reconnect_at = 0;
		log_event(LOG_INFO, "database_reconnected", json_pack("{s:s}", "database", s->where));
	}
	return session_setup(s, s->busy_timeout_ms) < 0 ? STORE_ERROR : STORE_OK;
}

/*
 * The first statement of a transaction: its BEGIN (begin_stmt) and
 * EXECUTE name(values) in one simple query, one round trip instead of two.
 * The result is the statement's (or the first error). NULL, with nothing
 * sent, when a value cannot be quoted: the caller then runs the BEGIN and
 * the statement one after the other.
 */
static PGresult *exec_after_begin(struct pg_store *s, const char *name, int n,
				  const char *const *values)
{
	struct buf q = { 0 };
	PGresult *res;

	buf_printf(&q, "%s; EXECUTE %s", stmt_sql[s->begin_stmt], name);
	for (int i = 0; i < n; i++) {
		char *lit = values[i] ? PQescapeLiteral(s->conn, values[i], strlen(values[i])) : NULL;

		if (values[i] && !lit) {
			buf_free(&q);
			res = PQexec(s->conn, stmt_sql[s->begin_stmt]);
			if (PQresultStatus(res) == PGRES_COMMAND_OK) {
				PQclear(res);
				return NULL;
			}
			return res;
		}
		buf_printf(&q, "%s%s", i ? ", " : "(", lit ? lit : "NULL");
		PQfreemem(lit);
	}
	if (n)
		buf_printf(&q, ")");
	res = PQexec(s->conn, q.data);
	buf_free(&q);
	return res;
}

static PGresult *run_v(struct pg_store *s, enum pg_stmt id, const char *what, const char *fmt,
		       va_list ap)
{
	const char *values[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	char name[16];
	int n = 0;
	PGresult *res;
	ExecStatusType st;

	if (pg_ready(s, what) != STORE_OK || prepare_once(s, id, what) != STORE_OK)
		return NULL;
	for (; *fmt && n < PG_MAX_PARAMS; fmt++, n++) {
		if (*fmt == 't') {
			values[n] = va_arg(ap, const char *);
		} else {
			int64_t v = va_arg(ap, int64_t);

			/* 'I': an integer where 0 means SQL NULL (token_expires_at) */
			snprintf(ints[n], sizeof ints[n], "%lld", (long long)v);
			values[n] = *fmt == 'I' && v == 0 ? NULL : ints[n];
		}
	}
	snprintf(name, sizeof name, "s%d", (int)id);
	res = NULL;
	if (s->begin_pending) {
		s->begin_pending = 0;
		res = exec_after_begin(s, name, n, values);
	}
	if (!res)
		res = PQexecPrepared(s->conn, name, n, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(s, res, what);
		PQclear(res);
		return NULL;
	}
	return res;
}

PGresult *pg_run(struct pg_store *s, enum pg_stmt id, const char *what, const char *fmt, ...)
{
	va_list ap;
	PGresult *res;

	va_start(ap, fmt);
	res = run_v(s, id, what, fmt, ap);
	va_end(ap);
	return res;
}

int pg_cmd(struct pg_store *s, enum pg_stmt id, const char *what, int64_t *n, const char *fmt,
	   ...)
{
	va_list ap;
	PGresult *res;

	va_start(ap, fmt);
	res = run_v(s, id, what, fmt, ap);
	va_end(ap);
	if (!res)
		return STORE_ERROR;
	if (n)
		*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return STORE_OK;
}

const char *pg_str(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

char *pg_text(const PGresult *res, int r, int c)
{
	const char *v = pg_str(res, r, c);

	return v ? xstrdup(v) : NULL;
}

int64_t pg_int(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* ---- opening ------------------------------------------------------------------------ */

static void pg_close(struct store *h);

/* target is what follows "postgresql:" or "postgres:", i.e. "//…": libpq takes either scheme. */
static char *conninfo_of(const char *target)
{
	return xstrcat2("postgresql:", target);
}

/*
 * Opens a session on the URI conninfo. Defaults that the URI may override:
 * a connect timeout, and TCP keepalives with a user timeout, so that a
 * network cut fails a call (and a reconnect) in seconds rather than hang
 * for the kernel's minutes. Unix sockets ignore the TCP ones.
 */
PGconn *pg_connect(const char *conninfo)
{
	/* Before dbname: the URI's own settings, expanded from dbname, win. */
	static const char *const keys[] = { "connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", NULL };
	const char *values[] = { "5", "10", "5", "3", "15000", conninfo, NULL };

	return PQconnectdbParams(keys, values, 1);
}

static int pg_open(struct store **out, const char *target, const struct store_options *opt,
		   int flags, char *err, size_t errlen)
{
	struct pg_store *s = xcalloc(1, sizeof *s);
	struct buf where = { 0 };
	int ret = -1;

	*out = NULL;
	s->base.ops = &store_postgresql_ops;
	s->pid = (long)getpid();
	s->busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
	s->conninfo = conninfo_of(target);
	s->where = xstrdup("(not connected)");
	s->conn = pg_connect(s->conninfo);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		pg_set_error(s, "cannot connect to the PostgreSQL database: %s",
			     s->conn ? PQerrorMessage(s->conn) : "out of memory");
		goto out;
	}
	PQsetNoticeProcessor(s->conn, pg_quiet, NULL);
	free(s->where);
	buf_printf(&where, "%s on %s", PQdb(s->conn), PQhost(s->conn));
	s->where = buf_detach(&where);
	if (pg_migrate(s, flags & STORE_OPEN_CREATE) < 0 ||
	    session_setup(s, s->busy_timeout_ms) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		snprintf(err, errlen, "%s", s->errmsg.data ? s->errmsg.data : "cannot open");
		pg_close(&s->base);
	} else {
		buf_reset(&s->errmsg);
		*out = &s->base;
	}
	return ret;
}

/*
 * store_create (`streamer init-db`): a PostgreSQL database is made by its
 * administrator (createdb), so this brings its schema to the newest
 * version (pg_migrate), which no other open does. Returns 0, or -1.
 */
static int pg_create(const char *target, long long gid, char *err, size_t errlen)
{
	static const struct store_options defaults = { .busy_timeout_ms = 5000 };
	struct store *h = NULL;

	(void)gid;
	if (pg_open(&h, target, &defaults, STORE_OPEN_CREATE, err, errlen) < 0)
		return -1;
	pg_close(h);
	return 0;
}

void pg_finish(struct pg_store *s, PGconn *conn)
{
	if (conn && (long)getpid() != s->pid && PQsocket(conn) >= 0)
		close(PQsocket(conn));
	PQfinish(conn);
}

static void pg_close(struct store *h)
{
	struct pg_store *s = pgs(h);

	if (!s)
		return;
	pg_wake_close(h);
	pg_finish(s, s->conn);
	free(s->conninfo);
	free(s->where);
	buf_free(&s->errmsg);
	free(s);
}

static const char *pg_errmsg(struct store *h)
{
	struct pg_store *s = pgs(h);

	return s && s->errmsg.data ? s->errmsg.data : "";
}

static int pg_schema_version(struct store *h)
{
	struct pg_store *s = pgs(h);
	PGresult *res = pg_run(s, STMT_SCHEMA_VERSION, "reading the schema version", "");
	int v = -1;

	if (res && PQntuples(res) == 1)
		v = (int)pg_int(res, 0, 0);
	PQclear(res);
	return v;
}

/* ---- transactions ------------------------------------------------------------------- */

/*
 * store_begin: READ COMMITTED, and locks as narrow as the atomic groups of
 * store.h need, each taken by the call that needs it and held to the end
 * of the transaction (waiting up to the busy timeout: lock_timeout):
 *  - store_conn_load locks the connection's row (SELECT … FOR UPDATE): the
 *    writes of one connection's messages, its disconnect and its
 *    subscriptions' count + insert run one after another, and a message
 *    that waited behind a disconnect finds no connection;
 *  - store_conn_count_user locks the key (tenant, user): two connects of
 *    one user cannot both take the last place;
 *  - queue_count_tenant_pending locks the key (tenant): the tenant's
 *    pending count stays true until its enqueue commits.
 * Everything else waits only for the rows it writes. So writes of
 * different connections, users and tenants run at once on every node,
 * where one lock for all (SQLite's BEGIN IMMEDIATE) would queue the whole
 * cluster behind each write. The order is always row, then user or
 * tenant key; a lock wait that still deadlocks is broken by the server
 * (one transaction fails, the caller answers INTERNAL_ERROR).
 * Serializable isolation was not chosen: the callers do not retry, and
 * serialization failures would fail the groups under contention.
 */
static void pg_rollback(struct store *h);

static int pg_begin(struct store *h)
{
	struct pg_store *s = pgs(h);

	if (s->in_txn)
		return pg_set_error(s, "database %s: begin: a transaction is already open", s->where);
	/* Sent with the first statement (run_v): one round trip less. */
	s->in_txn = 1;
	s->txn_write = 1;
	s->begin_pending = 1;
	s->begin_stmt = STMT_BEGIN;
	return STORE_OK;
}

int pg_lock_key(struct pg_store *s, char kind, const char *a, const char *b)
{
	struct buf key = { 0 };
	int rc;

	if (!s->txn_write)
		return STORE_OK;
	/* kind, then each part after its length: no two keys share a text. */
	buf_printf(&key, "%c:%zu:%s:%s", kind, strlen(a), a, b ? b : "");
	rc = pg_cmd(s, STMT_LOCK_KEY, "waiting for a lock", NULL, "t", key.data);
	buf_free(&key);
	return rc;
}

/* store_begin_read: one REPEATABLE READ READ ONLY snapshot, no lock taken or waited for. */
static int pg_begin_read(struct store *h)
{
	struct pg_store *s = pgs(h);

	if (s->in_txn)
		return pg_set_error(s, "database %s: begin read: a transaction is already open",
				    s->where);
	s->in_txn = 1;
	s->txn_write = 0;
	s->begin_pending = 1;
	s->begin_stmt = STMT_BEGIN_READ;
	return STORE_OK;
}

/*
 * Ends a read transaction, or one that sent nothing, without waiting: a
 * read-only transaction has nothing to make durable, so its COMMIT (or
 * ROLLBACK) goes out and its answer is read by the next call (pg_ready),
 * while the worker answers its client. 1 when it did; 0 for a write
 * transaction that sent something.
 */
static int end_quietly(struct pg_store *s, const char *sql)
{
	if (s->begin_pending || !s->in_txn) {
		s->begin_pending = 0;
	} else if (s->txn_write) {
		return 0;
	} else if (PQstatus(s->conn) == CONNECTION_OK) {
		end_drain(s);
		s->end_pending = PQsendQuery(s->conn, sql);
	}
	s->in_txn = 0;
	s->txn_write = 0;
	return 1;
}

static int pg_commit(struct store *h)
{
	struct pg_store *s = pgs(h);
	PGresult *res;
	int ok;

	if (end_quietly(s, "COMMIT"))
		return STORE_OK;
	res = pg_run(s, STMT_COMMIT, "commit", "");
	ok = res && strcmp(PQcmdStatus(res), "COMMIT") == 0;

	if (res && !ok)
		pg_set_error(s, "database %s: commit: an earlier statement of the transaction "
			     "failed, so it was rolled back", s->where);
	PQclear(res);
	if (!ok)
		return STORE_ERROR; /* still "open" for the caller: store_rollback ends it */
	s->in_txn = 0;
	s->txn_write = 0;
	return STORE_OK;
}

static void pg_rollback(struct store *h)
{
	struct pg_store *s = pgs(h);

	if (end_quietly(s, "ROLLBACK"))
		return;
	end_drain(s);
	if (PQstatus(s->conn) == CONNECTION_OK &&
	    (s->in_txn || PQtransactionStatus(s->conn) != PQTRANS_IDLE))
		PQclear(PQexec(s->conn, "ROLLBACK"));
	s->in_txn = 0;
	s->txn_write = 0;
}

static int pg_ping(struct store *h)
{
	struct pg_store *s = pgs(h);

	return pg_cmd(s, STMT_PING, "ping", NULL, "");
}

/* ---- connections -------------------------------------------------------------------- */

/* Fills r from row i of res, whose columns are PG_CONN_COLUMNS. */
static void read_row(const PGresult *res, int i, struct conn_record *r)
{
	r->id = xstrdup(PQgetvalue(res, i, 0));
	r->user_id = xstrdup(PQgetvalue(res, i, 1));
	r->tenant_id = xstrdup(PQgetvalue(res, i, 2));
	r->permissions = PQgetisnull(res, i, 3) ? xstrdup("[]") : pg_text(res, i, 3);
	r->user_agent = pg_text(res, i, 4);
	r->source_addr = pg_text(res, i, 5);
	r->connected_at = pg_int(res, i, 6);
	r->last_active_at = pg_int(res, i, 7);
	r->expires_at = pg_int(res, i, 8);
	r->messages_received = pg_int(res, i, 9);
	r->messages_sent = pg_int(res, i, 10);
	r->token_expires_at = pg_int(res, i, 11); /* NULL reads as 0: no limit */
	r->topic_claims = pg_text(res, i, 12);
}

/* Ends a statement returning at most one connection row: STORE_OK filling *out (when non-NULL), STORE_NOTFOUND, STORE_ERROR for res NULL. */
static int one_row(PGresult *res, struct conn_record *out)
{
	int ret;

	if (!res)
		return STORE_ERROR;
	ret = PQntuples(res) > 0 ? STORE_OK : STORE_NOTFOUND;
	if (ret == STORE_OK && out)
		read_row(res, 0, out);
	PQclear(res);
	return ret;
}

static int pg_conn_put(struct store *h, const struct conn_record *r)
{
	struct pg_store *s = pgs(h);
	PGresult *res = pg_run(s, STMT_CONN_PUT, "put connection", "ttttttiiiiiItt", r->id,
			       r->user_id, r->tenant_id, r->permissions ? r->permissions : "[]",
			       r->user_agent, r->source_addr, r->connected_at, r->last_active_at,
			       r->expires_at, r->messages_received, r->messages_sent,
			       r->token_expires_at, r->topic_claims, r->secret_hash);
	int ret;

	if (!res)
		return STORE_ERROR;
	/* Nothing written: the live row of someone else stood in the way. */
	ret = pg_int(res, 0, 0) == 0 ? STORE_CONFLICT : STORE_OK;
	PQclear(res);
	return ret;
}

static int pg_conn_secret(struct store *h, const char *id, char **hash_hex)
{
	struct pg_store *s = pgs(h);
	PGresult *res = pg_run(s, STMT_CONN_SECRET, "read connection secret", "t", id);
	int ret;

	*hash_hex = NULL;
	if (!res)
		return STORE_ERROR;
	ret = PQntuples(res) > 0 ? STORE_OK : STORE_NOTFOUND;
	if (ret == STORE_OK)
		*hash_hex = pg_text(res, 0, 0);
	PQclear(res);
	return ret;
}

static int pg_conn_touch(struct store *h, const char *id, const struct conn_touch *t)
{
	struct pg_store *s = pgs(h);

	return one_row(pg_run(s, STMT_CONN_TOUCH, "touch connection", "iitiii", t->now,
			      t->expires_at, id, t->active_at, t->received, t->sent), NULL);
}

static int pg_conn_refresh(struct store *h, const char *id, const char *permissions,
			   const char *topic_claims, int64_t token_expires_at, int64_t now,
			   int64_t ttl_ms, struct conn_record *out)
{
	struct pg_store *s = pgs(h);
	int64_t expires;

	if (__builtin_add_overflow(now, ttl_ms, &expires))
		return pg_set_error(s, "database %s: refresh connection: now + ttl overflows",
				    s->where);
	return one_row(pg_run(s, STMT_CONN_REFRESH, "refresh connection", "iittit", now, expires,
			      id, permissions ? permissions : "[]", token_expires_at, topic_claims),
		       out);
}

static int pg_conn_get(struct store *h, const char *id, struct conn_record *out)
{
	struct pg_store *s = pgs(h);

	return one_row(pg_run(s, STMT_CONN_GET, "get connection", "t", id), out);
}

/* Copies column c of row 0 into arena (reserved by the caller), or if_null for SQL NULL. */
static char *col_into(const PGresult *res, int c, struct buf *arena, char *if_null)
{
	size_t n;
	char *at;

	if (PQgetisnull(res, 0, c))
		return if_null;
	n = (size_t)PQgetlength(res, 0, c);
	at = arena->data + arena->len;
	memcpy(at, PQgetvalue(res, 0, c), n);
	at[n] = '\0';
	arena->len += n + 1;
	return at;
}

static int pg_conn_load(struct store *h, const char *id, struct conn_record *out,
			struct buf *arena)
{
	static char empty[] = "", no_perms[] = "[]";
	struct pg_store *s = pgs(h);
	PGresult *res;
	size_t need = 0;

	memset(out, 0, sizeof *out);
	arena->len = 0;
	res = pg_run(s, s->txn_write ? STMT_CONN_GET_LOCKED : STMT_CONN_GET, "load connection", "t", id);
	if (!res)
		return STORE_ERROR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOTFOUND;
	}
	/* One reservation for every string: pointers into the arena stay put. */
	for (int i = 0; i < 6; i++)
		need += (size_t)PQgetlength(res, 0, i) + 1;
	need += (size_t)PQgetlength(res, 0, 12) + 1;
	buf_reserve(arena, need);
	out->id = col_into(res, 0, arena, empty);
	out->user_id = col_into(res, 1, arena, empty);
	out->tenant_id = col_into(res, 2, arena, empty);
	out->permissions = col_into(res, 3, arena, no_perms);
	out->user_agent = col_into(res, 4, arena, NULL);
	out->source_addr = col_into(res, 5, arena, NULL);
	out->connected_at = pg_int(res, 0, 6);
	out->last_active_at = pg_int(res, 0, 7);
	out->expires_at = pg_int(res, 0, 8);
	out->messages_received = pg_int(res, 0, 9);
	out->messages_sent = pg_int(res, 0, 10);
	out->token_expires_at = pg_int(res, 0, 11);
	out->topic_claims = col_into(res, 12, arena, NULL);
	PQclear(res);
	return STORE_OK;
}

static int pg_conn_delete(struct store *h, const char *id, struct conn_record *out)
{
	struct pg_store *s = pgs(h);

	return one_row(pg_run(s, STMT_CONN_DELETE, "delete connection", "t", id), out);
}

static int pg_conn_list(struct store *h, const char *tenant,
			int (*fn)(const struct conn_record *r, void *ctx), void *ctx)
{
	struct pg_store *s = pgs(h);
	PGresult *res = tenant ? pg_run(s, STMT_CONN_LIST_TENANT, "list connections", "t", tenant)
			       : pg_run(s, STMT_CONN_LIST, "list connections", "");

	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		struct conn_record r = { 0 };
		int stop;

		read_row(res, i, &r);
		stop = fn(&r, ctx);
		conn_record_free(&r);
		if (stop)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

static int pg_conn_count_user(struct store *h, const char *tenant, const char *user,
			      const char *except_id, int64_t now, int64_t limit, int64_t *n)
{
	struct pg_store *s = pgs(h);
	PGresult *res;

	*n = 0;
	if (pg_lock_key(s, 'u', tenant, user) != STORE_OK)
		return STORE_ERROR;
	res = pg_run(s, STMT_CONN_COUNT_USER, "count a user's connections", "ttiti", tenant, user,
		     now, except_id, limit);
	if (!res)
		return STORE_ERROR;
	*n = pg_int(res, 0, 0);
	PQclear(res);
	return STORE_OK;
}

/* ---- gauges and report activity ------------------------------------------------------- */

static int pg_gauges(struct store *h, int64_t now, int64_t *connections_active,
		     int64_t *requests_pending, int64_t *requests_running)
{
	struct pg_store *s = pgs(h);
	PGresult *res = pg_run(s, STMT_GAUGES, "reading the gauges", "i", now);

	*connections_active = *requests_pending = *requests_running = 0;
	if (!res)
		return STORE_ERROR;
	*connections_active = pg_int(res, 0, 0);
	*requests_pending = pg_int(res, 0, 1);
	*requests_running = pg_int(res, 0, 2);
	PQclear(res);
	return STORE_OK;
}

static int pg_activity(struct store *h, const char *tenant, int64_t from_ms, int64_t until_ms,
		       int (*fn)(void *arg, const struct store_activity_row *row), void *arg)
{
	struct pg_store *s = pgs(h);
	PGresult *res = pg_run(s, STMT_ACTIVITY, "reading activity", "tii", tenant, from_ms,
			       until_ms);

	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_activity_row row = {
			.at_ms = pg_int(res, i, 0), .kind = pg_str(res, i, 1),
			.tenant_id = pg_str(res, i, 2), .id = pg_str(res, i, 3),
			.user_id = pg_str(res, i, 4), .action = pg_str(res, i, 5),
			.status = pg_str(res, i, 6), .duration_ms = pg_int(res, i, 7),
		};

		if (fn(arg, &row) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

const struct store_ops store_postgresql_ops = {
	.name = "postgresql",
	.alias = "postgres",
	.claims_plain = NULL,
	.local_file = 0,
	.create = pg_create,
	.open = pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.schema_version = pg_schema_version,
	.schema_latest = pg_schema_latest,
	.begin = pg_begin,
	.begin_read = pg_begin_read,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.ping = pg_ping,
	.conn_put = pg_conn_put,
	.conn_touch = pg_conn_touch,
	.conn_refresh = pg_conn_refresh,
	.conn_secret = pg_conn_secret,
	.conn_get = pg_conn_get,
	.conn_load = pg_conn_load,
	.conn_delete = pg_conn_delete,
	.conn_list = pg_conn_list,
	.conn_count_user = pg_conn_count_user,
	.queue_enqueue = pg_queue_enqueue,
	.queue_count_live = pg_queue_count_live,
	.queue_count_tenant_pending = pg_queue_count_tenant_pending,
	.queue_unhold = pg_queue_unhold,
	.queue_claim = pg_queue_claim,
	.queue_renew = pg_queue_renew,
	.queue_progress = pg_queue_progress,
	.queue_finish = pg_queue_finish,
	.queue_release = pg_queue_release,
	.queue_get_own = pg_queue_get_own,
	.queue_cancel = pg_queue_cancel,
	.queue_cancel_connection = pg_queue_cancel_connection,
	.queue_gc = pg_queue_gc,
	.subs_add = pg_subs_add,
	.subs_remove = pg_subs_remove,
	.subs_topic_members = pg_subs_topic_members,
	.subs_user_connections = pg_subs_user_connections,
	.subs_tenant_connections = pg_subs_tenant_connections,
	.subs_expired_connections = pg_subs_expired_connections,
	.subs_presence = pg_subs_presence,
	.subs_presence_count = pg_subs_presence_count,
	.subs_user_topic_count = pg_subs_user_topic_count,
	.subs_connection_topics = pg_subs_connection_topics,
	.subs_presence_watchers = pg_subs_presence_watchers,
	.subs_patterns = pg_subs_patterns,
	.history_append = pg_history_append,
	.history_position = pg_history_position,
	.history_read = pg_history_read,
	.history_positions = pg_history_positions,
	.history_gc = pg_history_gc,
	.gauges = pg_gauges,
	.activity = pg_activity,
	.wake_listen = pg_wake_listen,
	.wake_fd = pg_wake_fd,
	.wake_drain = pg_wake_drain,
	.wake_notify = pg_wake_notify,
	.wake_close = pg_wake_close,
};
