/* test_store.c - the SQLite connection store: schema, WAL, every call, transactions, concurrency, query plans. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_sql.h"
#include "tap.h"
#include "tmpdir.h"

#define TTL 60000

/* A fresh directory per test holding the database file; removed by tmp_done. */
struct tmp {
	char dir[TMPDIR_MAX];
	char db[TMPDIR_MAX + 16];
};

static void tmp_init(struct tmp *t)
{
	int n;

	tmpdir_make(t->dir, sizeof t->dir, "test_store");
	n = snprintf(t->db, sizeof t->db, "%s/streamer.db", t->dir);
	CHECK(n > 0 && (size_t)n < sizeof t->db);
}

/* Removes the directory and the files in it (database, -wal, -shm). */
static void tmp_done(struct tmp *t)
{
	CHECK(tmpdir_remove(t->dir) == 0);
}

static struct store *open_ok(const char *path, int busy_ms)
{
	struct store *s = NULL;
	char err[512] = "";
	int rc = store_open(&s, path, busy_ms, STORE_OPEN_CREATE, err, sizeof err);

	if (rc != 0)
		printf("# store_open: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK(s != NULL);
	return s;
}

/* A second, plain sqlite3 connection to look at the file from outside the store. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		  SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		printf("# %s: %s\n", sql, msg ? msg : "?");
	CHECK(msg == NULL);
}

static long long raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Copies the first column of the first row of sql into out. */
static void raw_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;

	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* A record of borrowed literals (only for store_conn_put, never freed). */
static struct conn_record rec(const char *id, const char *tenant, int64_t connected_at)
{
	struct conn_record r = {
		.id = (char *)id,
		.user_id = (char *)"user-1",
		.tenant_id = (char *)tenant,
		.permissions = (char *)"[\"read\",\"write\"]",
		.user_agent = NULL,
		.source_addr = (char *)"127.0.0.1",
		.connected_at = connected_at,
		.last_active_at = connected_at,
		.expires_at = connected_at + TTL,
	};
	return r;
}

static void put_ok(struct store *s, const struct conn_record *r)
{
	int rc = store_conn_put(s, r);

	if (rc != STORE_OK)
		printf("# put %s: %s\n", r->id, store_errmsg(s));
	CHECK_INT(rc, STORE_OK);
}

static void check_same(const struct conn_record *a, const struct conn_record *b)
{
	CHECK_STR(a->id, b->id);
	CHECK_STR(a->user_id, b->user_id);
	CHECK_STR(a->tenant_id, b->tenant_id);
	CHECK_STR(a->permissions, b->permissions);
	if (a->user_agent || b->user_agent)
		CHECK_STR(a->user_agent, b->user_agent);
	if (a->source_addr || b->source_addr)
		CHECK_STR(a->source_addr, b->source_addr);
	CHECK_INT(a->connected_at, b->connected_at);
	CHECK_INT(a->last_active_at, b->last_active_at);
	CHECK_INT(a->expires_at, b->expires_at);
	CHECK_INT(a->messages_received, b->messages_received);
	CHECK_INT(a->messages_sent, b->messages_sent);
	CHECK_INT(a->token_expires_at, b->token_expires_at);
}

static void test_open_creates_wal_database(void)
{
	struct tmp t;
	struct store *s;
	struct stat st;
	sqlite3 *db;
	char mode[32];

	tmp_init(&t);
	CHECK(stat(t.db, &st) != 0 && errno == ENOENT);
	s = open_ok(t.db, 1000);
	CHECK(stat(t.db, &st) == 0);
	CHECK(store_schema_latest() >= 1);
	CHECK_INT(store_schema_version(s), store_schema_latest());
	CHECK_INT(store_ping(s), STORE_OK);
	CHECK_STR(store_errmsg(s), "");

	db = raw_open(t.db);
	raw_text(db, "PRAGMA journal_mode", mode, sizeof mode);
	CHECK_STR(mode, "wal");
	CHECK_INT(raw_int(db, "PRAGMA user_version"), store_schema_latest());
	CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'connections'"), 1);
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

static void test_reopen_is_idempotent(void)
{
	struct tmp t;
	struct store *s, *s2;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	store_close(s);

	s = open_ok(t.db, 1000);
	s2 = open_ok(t.db, 1000); /* a second process-like handle at the same time */
	CHECK_INT(store_schema_version(s), store_schema_latest());
	CHECK_INT(store_schema_version(s2), store_schema_latest());
	CHECK_INT(store_conn_get(s2, "c1", &got), STORE_OK);
	check_same(&got, &r);
	conn_record_free(&got);
	store_close(s2);
	store_close(s);
	tmp_done(&t);
}

static void test_newer_schema_is_refused(void)
{
	struct tmp t;
	struct store *s = (struct store *)1;
	sqlite3 *db;
	char sql[64], want[128], err[512] = "";
	int latest = store_schema_latest();

	tmp_init(&t);
	db = raw_open(t.db);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", latest + 1);
	raw_exec(db, sql);
	sqlite3_close(db);

	CHECK_INT(store_open(&s, t.db, 1000, 0, err, sizeof err), -1);
	CHECK(s == NULL);
	snprintf(want, sizeof want, "database schema version %d is newer than this build (%d)",
		 latest + 1, latest);
	if (!strstr(err, want) || !strstr(err, t.db))
		printf("# err: %s\n", err);
	CHECK(strstr(err, want) != NULL);
	CHECK(strstr(err, t.db) != NULL);

	/* Nothing was applied to the newer database. */
	db = raw_open(t.db);
	CHECK_INT(raw_int(db, "PRAGMA user_version"), latest + 1);
	CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master"), 0);
	sqlite3_close(db);
	tmp_done(&t);
}

static void test_open_errors_name_the_path(void)
{
	struct tmp t;
	struct store *s = NULL;
	char path[4400], err[512] = "";

	tmp_init(&t);
	snprintf(path, sizeof path, "%s/missing/streamer.db", t.dir);
	CHECK_INT(store_open(&s, path, 100, 0, err, sizeof err), -1);
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL);

	/* An in-memory database cannot be in WAL mode. */
	CHECK_INT(store_open(&s, ":memory:", 100, 0, err, sizeof err), -1);
	CHECK(strstr(err, "WAL") != NULL);

	CHECK_INT(store_open(&s, "", 100, 0, err, sizeof err), -1);
	CHECK(err[0] != '\0');
	tmp_done(&t);
}

static void test_put_get_round_trip(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = {
		.id = (char *)"m:0123456789abcdef",
		.user_id = (char *)"alice@example.com",
		.tenant_id = (char *)"acme",
		.permissions = (char *)"[\"read\",\"admin\"]",
		.user_agent = (char *)"Mozilla/5.0 (X11; \"quoted\") 'single'",
		.source_addr = (char *)"2001:db8::1",
		.connected_at = 1700000000123,
		.last_active_at = 1700000000456,
		.expires_at = 1700000086400,
		.messages_received = 7,
		.messages_sent = INT64_C(9000000000),
	};
	struct conn_record r2 = rec("c2", "acme", 5);
	struct conn_record got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	CHECK_INT(store_conn_get(s, r.id, &got), STORE_OK);
	check_same(&got, &r);
	conn_record_free(&got);
	CHECK(got.id == NULL);

	/* NULL user agent and address stay NULL; NULL permissions read back as []. */
	r2.source_addr = NULL;
	r2.permissions = NULL;
	put_ok(s, &r2);
	CHECK_INT(store_conn_get(s, "c2", &got), STORE_OK);
	CHECK(got.user_agent == NULL);
	CHECK(got.source_addr == NULL);
	CHECK_STR(got.permissions, "[]");
	CHECK_INT(got.connected_at, 5);
	conn_record_free(&got);

	CHECK_INT(store_conn_get(s, "nope", &got), STORE_NOTFOUND);
	CHECK(got.id == NULL);

	/* A missing required field is an error, and the handle keeps working. */
	r2.id = (char *)"c3";
	r2.user_id = NULL;
	CHECK_INT(store_conn_put(s, &r2), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), t.db) != NULL);
	CHECK(strstr(store_errmsg(s), "NOT NULL") != NULL);
	CHECK_INT(store_conn_get(s, "c3", NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_get(s, "c2", NULL), STORE_OK);
	store_close(s);
	tmp_done(&t);
}

static void test_put_replaces(void)
{
	struct tmp t;
	struct store *s;
	/* b comes when a has expired: another identity may take the id then. */
	struct conn_record a = rec("c1", "t1", 100), b = rec("c1", "t2", 100 + TTL), got = { 0 };
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &a);
	CHECK_INT(store_conn_add_sent(s, "c1", 4), STORE_OK);
	b.user_id = (char *)"bob";
	b.user_agent = (char *)"curl/8";
	put_ok(s, &b);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	check_same(&got, &b);
	conn_record_free(&got);
	db = raw_open(t.db);
	CHECK_INT(raw_int(db, "SELECT count(*) FROM connections"), 1);
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

/*
 * Issue 13: a live id of another user, tenant or dialect is never taken over
 * (that rebound a victim's WebSocket to an attacker); the same identity may
 * reconnect with its id.
 */
static void test_put_refuses_a_live_row_of_another(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record a = rec("c1", "t1", 100), other = rec("c1", "t1", 200), got = { 0 };
	char *hash = NULL;

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &a);
	other.user_id = (char *)"mallory";
	CHECK_INT(store_conn_put(s, &other), STORE_CONFLICT);
	other.user_id = (char *)"user-1";
	other.tenant_id = (char *)"t2";
	CHECK_INT(store_conn_put(s, &other), STORE_CONFLICT);
	/* The same identity through the other dialect (with a secret) is refused too. */
	other.tenant_id = (char *)"t1";
	other.secret_hash = (char *)"00ff";
	CHECK_INT(store_conn_put(s, &other), STORE_CONFLICT);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	check_same(&got, &a);
	conn_record_free(&got);
	/* Inside a transaction the refusal leaves the transaction usable. */
	CHECK_INT(store_begin(s), STORE_OK);
	other.secret_hash = NULL;
	other.user_id = (char *)"mallory";
	CHECK_INT(store_conn_put(s, &other), STORE_CONFLICT);
	CHECK_INT(store_commit(s), STORE_OK);
	/* Same identity, same dialect: a reconnect replaces the row. */
	other.user_id = (char *)"user-1";
	put_ok(s, &other);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.connected_at, 200);
	conn_record_free(&got);
	/* Secrets: the hash is kept, NULL for a WebSocket row, NOTFOUND for no row. */
	CHECK_INT(store_conn_secret(s, "c1", &hash), STORE_OK);
	CHECK(hash == NULL);
	a.id = (char *)"c2";
	a.secret_hash = (char *)"abcdef";
	put_ok(s, &a);
	CHECK_INT(store_conn_secret(s, "c2", &hash), STORE_OK);
	CHECK_STR(hash, "abcdef");
	free(hash);
	hash = (char *)"x";
	CHECK_INT(store_conn_secret(s, "c3", &hash), STORE_NOTFOUND);
	CHECK(hash == NULL);
	/* A plain-dialect row of the same identity, reconnecting: a new secret replaces the old. */
	a.secret_hash = (char *)"012345";
	a.connected_at = 150;
	put_ok(s, &a);
	CHECK_INT(store_conn_secret(s, "c2", &hash), STORE_OK);
	CHECK_STR(hash, "012345");
	free(hash);
	store_close(s);
	tmp_done(&t);
}

/*
 * Later migrations add tables that reference connections ON DELETE CASCADE:
 * delete and replace must take their rows along, which needs foreign_keys
 * on in the store's own connection.
 */
static void test_dependent_rows_follow_the_connection(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record a = rec("c1", "t1", 100), b = rec("c2", "t1", 100);
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	db = raw_open(t.db);
	raw_exec(db, "CREATE TABLE deps (conn_id TEXT NOT NULL "
		     "REFERENCES connections(id) ON DELETE CASCADE, x INTEGER)");
	put_ok(s, &a);
	put_ok(s, &b);
	raw_exec(db, "INSERT INTO deps VALUES ('c1', 1), ('c1', 2), ('c2', 3)");

	CHECK_INT(store_conn_delete(s, "c1", NULL), STORE_OK);
	CHECK_INT(raw_int(db, "SELECT count(*) FROM deps WHERE conn_id = 'c1'"), 0);
	CHECK_INT(raw_int(db, "SELECT count(*) FROM deps WHERE conn_id = 'c2'"), 1);

	put_ok(s, &b); /* same id again: a new connection */
	CHECK_INT(raw_int(db, "SELECT count(*) FROM deps"), 0);
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

static void test_touch_live_row(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r); /* expires at 1000 + TTL */

	CHECK_INT(store_conn_touch(s, "c1", 2000, TTL, &got), STORE_OK);
	CHECK_STR(got.id, "c1");
	CHECK_STR(got.user_id, "user-1");
	CHECK_STR(got.permissions, "[\"read\",\"write\"]");
	CHECK_INT(got.connected_at, 1000);
	CHECK_INT(got.last_active_at, 2000);
	CHECK_INT(got.expires_at, 2000 + TTL);
	CHECK_INT(got.messages_received, 1);
	conn_record_free(&got);

	CHECK_INT(store_conn_touch(s, "c1", 3000, TTL, NULL), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.last_active_at, 3000);
	CHECK_INT(got.expires_at, 3000 + TTL);
	CHECK_INT(got.messages_received, 2);
	CHECK_INT(got.messages_sent, 0);
	conn_record_free(&got);
	store_close(s);
	tmp_done(&t);
}

static void test_touch_expired_row_is_left_alone(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	/* expires_at == now is already expired. */
	CHECK_INT(store_conn_touch(s, "c1", 1000 + TTL, TTL, &got), STORE_NOTFOUND);
	CHECK(got.id == NULL);
	CHECK_INT(store_conn_touch(s, "c1", 1000 + 2 * TTL, TTL, NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	check_same(&got, &r);
	conn_record_free(&got);

	CHECK_INT(store_conn_touch(s, "unknown", 1000, TTL, &got), STORE_NOTFOUND);
	CHECK(got.id == NULL);
	store_close(s);
	tmp_done(&t);
}

static void test_keepalive(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	CHECK_INT(store_conn_keepalive(s, "c1", 5000, TTL), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 5000 + TTL);
	CHECK_INT(got.last_active_at, 1000);   /* a keep-alive is not activity */
	CHECK_INT(got.messages_received, 0);
	conn_record_free(&got);

	/* A shorter ttl never pulls expiry back. */
	CHECK_INT(store_conn_keepalive(s, "c1", 6000, 10), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 5000 + TTL);
	conn_record_free(&got);

	CHECK_INT(store_conn_keepalive(s, "c1", 5000 + TTL, TTL), STORE_NOTFOUND);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 5000 + TTL);
	conn_record_free(&got);
	CHECK_INT(store_conn_keepalive(s, "unknown", 1000, TTL), STORE_NOTFOUND);
	store_close(s);
	tmp_done(&t);
}

/* The token's expiry caps the sliding TTL on put, touch and keep-alive; refresh moves the cap. */
static void test_token_expiry_caps_expiry(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	r.token_expires_at = 9000;
	put_ok(s, &r);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 9000);       /* connected_at + TTL would be later */
	CHECK_INT(got.token_expires_at, 9000);
	conn_record_free(&got);

	CHECK_INT(store_conn_touch(s, "c1", 2000, TTL, &got), STORE_OK);
	CHECK_INT(got.expires_at, 9000);
	CHECK_INT(got.last_active_at, 2000);
	conn_record_free(&got);
	CHECK_INT(store_conn_keepalive(s, "c1", 3000, TTL), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 9000);
	conn_record_free(&got);
	/* At the token's expiry the row is no longer live. */
	CHECK_INT(store_conn_touch(s, "c1", 9000, TTL, NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_keepalive(s, "c1", 9000, TTL), STORE_NOTFOUND);

	/* Refresh: live rows only; new permissions and cap; the sliding TTL applies below the cap. */
	CHECK_INT(store_conn_refresh(s, "c1", "[\"a\"]", 50000, 9000, TTL, NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_refresh(s, "c1", "[\"a\"]", 50000, 8000, 100, &got), STORE_OK);
	CHECK_STR(got.permissions, "[\"a\"]");
	CHECK_INT(got.token_expires_at, 50000);
	CHECK_INT(got.expires_at, 8100);
	conn_record_free(&got);
	CHECK_INT(store_conn_refresh(s, "c1", "[]", 50000, 8050, TTL, &got), STORE_OK);
	CHECK_INT(got.expires_at, 50000);
	conn_record_free(&got);
	CHECK_INT(store_conn_touch(s, "c1", 20000, TTL, &got), STORE_OK);
	CHECK_INT(got.expires_at, 50000);
	conn_record_free(&got);
	CHECK_INT(store_conn_refresh(s, "unknown", "[]", 50000, 1000, TTL, NULL), STORE_NOTFOUND);

	/* No token limit (0): the sliding TTL alone, as before version 6. */
	r = rec("c2", "t1", 1000);
	put_ok(s, &r);
	CHECK_INT(store_conn_touch(s, "c2", 2000, TTL, &got), STORE_OK);
	CHECK_INT(got.expires_at, 2000 + TTL);
	CHECK_INT(got.token_expires_at, 0);
	conn_record_free(&got);
	store_close(s);
	tmp_done(&t);
}

static void test_add_sent(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	CHECK_INT(store_conn_add_sent(s, "c1", 3), STORE_OK);
	CHECK_INT(store_conn_add_sent(s, "c1", 2), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.messages_sent, 5);
	CHECK_INT(got.messages_received, 0);
	conn_record_free(&got);
	CHECK_INT(store_conn_add_sent(s, "unknown", 1), STORE_NOTFOUND);
	store_close(s);
	tmp_done(&t);
}

static void test_delete(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	CHECK_INT(store_conn_touch(s, "c1", 1500, TTL, NULL), STORE_OK);
	CHECK_INT(store_conn_delete(s, "c1", &got), STORE_OK);
	CHECK_STR(got.id, "c1");
	CHECK_STR(got.tenant_id, "t1");
	CHECK_INT(got.messages_received, 1);
	CHECK_INT(got.last_active_at, 1500);
	conn_record_free(&got);
	CHECK_INT(store_conn_delete(s, "c1", &got), STORE_NOTFOUND);
	CHECK(got.id == NULL);
	CHECK_INT(store_conn_get(s, "c1", NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_delete(s, "c1", NULL), STORE_NOTFOUND);
	store_close(s);
	tmp_done(&t);
}

struct collect {
	char ids[16][8];
	int n;
	int stop_after;
};

static int collect_fn(const struct conn_record *r, void *ctx)
{
	struct collect *c = ctx;

	CHECK(c->n < 16);
	snprintf(c->ids[c->n++], sizeof c->ids[0], "%s", r->id);
	return c->stop_after && c->n >= c->stop_after;
}

/* The per-user connection quota counts live rows of (tenant, user), leaving one id out, up to a limit. */
static void test_count_user(void)
{
	struct tmp t;
	struct store *s;
	int64_t n;
	char id[32];

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	for (int i = 0; i < 5; i++) {
		struct conn_record r;

		snprintf(id, sizeof id, "c%d", i);
		r = rec(id, "t1", 1000 + i);  /* expires at 1000 + i + TTL */
		put_ok(s, &r);
	}
	{
		struct conn_record other = rec("o1", "t1", 1000), elsewhere = rec("e1", "t2", 1000);

		other.user_id = (char *)"user-2";
		put_ok(s, &other);
		put_ok(s, &elsewhere);
	}
	CHECK_INT(store_conn_count_user(s, "t1", "user-1", "new", 2000, 100, &n), STORE_OK);
	CHECK_INT(n, 5);
	/* A reconnect under an existing id does not count its own row. */
	CHECK_INT(store_conn_count_user(s, "t1", "user-1", "c3", 2000, 100, &n), STORE_OK);
	CHECK_INT(n, 4);
	/* Counting stops at the limit. */
	CHECK_INT(store_conn_count_user(s, "t1", "user-1", "new", 2000, 3, &n), STORE_OK);
	CHECK_INT(n, 3);
	/* Expired rows are not live: c0 and c1 expire at 1000 + TTL and 1001 + TTL. */
	CHECK_INT(store_conn_count_user(s, "t1", "user-1", "new", 1001 + TTL, 100, &n), STORE_OK);
	CHECK_INT(n, 3);
	CHECK_INT(store_conn_count_user(s, "t2", "user-1", "new", 2000, 100, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(store_conn_count_user(s, "t1", "nobody", "new", 2000, 100, &n), STORE_OK);
	CHECK_INT(n, 0);
	store_close(s);
	tmp_done(&t);
}

static void test_list(void)
{
	struct tmp t;
	struct store *s;
	struct collect c = { 0 };
	struct conn_record rows[] = {
		rec("a", "t1", 300), rec("b", "t2", 100), rec("c", "t1", 200),
		rec("d", "t2", 400), rec("e", "t1", 50),
	};

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	CHECK_INT(store_conn_list(s, NULL, collect_fn, &c), STORE_OK);
	CHECK_INT(c.n, 0);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		put_ok(s, &rows[i]);

	CHECK_INT(store_conn_list(s, NULL, collect_fn, &c), STORE_OK);
	CHECK_INT(c.n, 5);
	CHECK_STR(c.ids[0], "e");
	CHECK_STR(c.ids[1], "b");
	CHECK_STR(c.ids[2], "c");
	CHECK_STR(c.ids[3], "a");
	CHECK_STR(c.ids[4], "d");

	memset(&c, 0, sizeof c);
	CHECK_INT(store_conn_list(s, "t1", collect_fn, &c), STORE_OK);
	CHECK_INT(c.n, 3);
	CHECK_STR(c.ids[0], "e");
	CHECK_STR(c.ids[1], "c");
	CHECK_STR(c.ids[2], "a");

	memset(&c, 0, sizeof c);
	CHECK_INT(store_conn_list(s, "nobody", collect_fn, &c), STORE_OK);
	CHECK_INT(c.n, 0);

	/* fn returning non-zero stops the walk; the statement is reusable afterwards. */
	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	CHECK_INT(store_conn_list(s, NULL, collect_fn, &c), STORE_OK);
	CHECK_INT(c.n, 2);
	memset(&c, 0, sizeof c);
	CHECK_INT(store_conn_list(s, NULL, collect_fn, &c), STORE_OK);
	CHECK_INT(c.n, 5);
	store_close(s);
	tmp_done(&t);
}

static void test_transactions(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record a = rec("a", "t1", 1), b = rec("b", "t1", 2);

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	store_rollback(s); /* none open: harmless */
	CHECK_INT(store_begin(s), STORE_OK);
	put_ok(s, &a);
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_OK);
	store_rollback(s);
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_NOTFOUND);

	CHECK_INT(store_begin(s), STORE_OK);
	put_ok(s, &b);
	CHECK_INT(store_commit(s), STORE_OK);
	store_rollback(s);
	CHECK_INT(store_conn_get(s, "b", NULL), STORE_OK);

	/* A nested begin fails and leaves the outer transaction usable. */
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_begin(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "begin") != NULL);
	put_ok(s, &a);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_OK);
	store_close(s);
	tmp_done(&t);
}

static void test_busy_is_reported(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record a = rec("a", "t1", 1);
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 50);
	put_ok(s, &a);
	db = raw_open(t.db);
	raw_exec(db, "BEGIN IMMEDIATE");

	CHECK_INT(store_begin(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "busy") != NULL);
	CHECK(strstr(store_errmsg(s), t.db) != NULL);
	CHECK_INT(store_conn_touch(s, "a", 2, TTL, NULL), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "busy") != NULL);
	/* Readers are not blocked by a writer in WAL mode. */
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_OK);
	CHECK_INT(store_ping(s), STORE_OK);

	raw_exec(db, "COMMIT");
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_conn_touch(s, "a", 2, TTL, NULL), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

/* One writer process: opens the (possibly new) database itself, 500 transactions. */
static void writer(const char *path, int which, int go_fd)
{
	struct store *s;
	char c, id[32];

	CHECK_INT(read(go_fd, &c, 1), 1);
	s = open_ok(path, 10000);
	for (int i = 0; i < 500; i++) {
		struct conn_record r;

		snprintf(id, sizeof id, "w%d-%03d", which, i);
		r = rec(id, which ? "t1" : "t0", i);
		if (store_begin(s) != STORE_OK) {
			printf("# writer %d begin: %s\n", which, store_errmsg(s));
			_exit(1);
		}
		put_ok(s, &r);
		CHECK_INT(store_conn_touch(s, id, i + 1, TTL, NULL), STORE_OK);
		if (store_commit(s) != STORE_OK) {
			printf("# writer %d commit: %s\n", which, store_errmsg(s));
			_exit(1);
		}
	}
	store_close(s);
}

static int count_fn(const struct conn_record *r, void *ctx)
{
	CHECK_INT(r->messages_received, 1);
	++*(int *)ctx;
	return 0;
}

static void test_two_processes_write_concurrently(void)
{
	struct tmp t;
	struct store *s;
	pid_t pid[2];
	int go[2], n = 0, n1 = 0;

	tmp_init(&t);
	CHECK(pipe(go) == 0);
	fflush(stdout);
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		CHECK(pid[w] >= 0);
		if (pid[w] == 0) {
			close(go[1]);
			writer(t.db, w, go[0]);
			fflush(stdout);
			exit(0);
		}
	}
	close(go[0]);
	/* Both start together, creating and migrating the database at the same time. */
	CHECK_INT(write(go[1], "xx", 2), 2);
	close(go[1]);
	for (int w = 0; w < 2; w++) {
		int status = 0;

		CHECK_INT(waitpid(pid[w], &status, 0), pid[w]);
		CHECK(WIFEXITED(status));
		CHECK_INT(WEXITSTATUS(status), 0);
	}
	s = open_ok(t.db, 1000);
	CHECK_INT(store_schema_version(s), store_schema_latest());
	CHECK_INT(store_conn_list(s, NULL, count_fn, &n), STORE_OK);
	CHECK_INT(n, 1000);
	CHECK_INT(store_conn_list(s, "t1", count_fn, &n1), STORE_OK);
	CHECK_INT(n1, 500);
	store_close(s);
	tmp_done(&t);
}

/* The store's own statement texts, to check their plans from a second connection. */
static const struct {
	const char *name;
	const char *sql;
} statements[] = {
#define X(name, sql) { #name, sql },
	STORE_SQL_STATEMENTS(X)
#undef X
};

static const char *statement(const char *name)
{
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
		if (!strcmp(statements[i].name, name))
			return statements[i].sql;
	CHECK(!"statement not in STORE_SQL_STATEMENTS");
	return NULL;
}

/* Checks that sql reaches connections through want (an index or the key) and never scans it. */
static void check_plan(sqlite3 *db, const char *name, const char *want)
{
	char sql[2048];
	sqlite3_stmt *st = NULL;
	int found = 0;

	snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", statement(name));
	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		printf("# %s: %s\n", name, detail);
		/* SCAN CONSTANT ROW is a SELECT without FROM (the values of an INSERT … SELECT);
		 * reading back a bounded subquery's rows is not a table scan either. */
		CHECK(strncmp(detail, "SCAN", 4) != 0 || strcmp(detail, "SCAN CONSTANT ROW") == 0 ||
		      strncmp(detail, "SCAN (subquery-", 15) == 0);
		if (strstr(detail, "SEARCH connections") && strstr(detail, want))
			found = 1;
	}
	sqlite3_finalize(st);
	CHECK(found);
}

static void test_hot_statements_use_keys(void)
{
	struct tmp t;
	struct store *s;
	sqlite3 *db;
	char id[32];

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	/* Some rows so that the planner sees a real table. */
	CHECK_INT(store_begin(s), STORE_OK);
	for (int i = 0; i < 200; i++) {
		struct conn_record r;

		snprintf(id, sizeof id, "c%d", i);
		r = rec(id, i % 2 ? "t1" : "t2", i);
		put_ok(s, &r);
	}
	CHECK_INT(store_commit(s), STORE_OK);
	db = raw_open(t.db);
	check_plan(db, "STMT_CONN_TOUCH", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_KEEPALIVE", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_REFRESH", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_ADD_SENT", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_GET", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_DELETE", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_SECRET", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_PUT", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_LIST_TENANT", "USING INDEX connections_tenant_user (tenant_id=?)");
	check_plan(db, "STMT_CONN_COUNT_USER", "USING INDEX connections_tenant_user (tenant_id=? AND user_id=?)");
	raw_exec(db, "ANALYZE");
	check_plan(db, "STMT_CONN_TOUCH", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_LIST_TENANT", "USING INDEX connections_tenant_user (tenant_id=?)");
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

/* Only STORE_OPEN_CREATE (streamer init-db) makes a database: a missing file is refused, naming it. */
static void test_missing_file_is_not_created(void)
{
	struct tmp t;
	struct store *s = NULL;
	struct stat sb;
	char err[512] = "";

	tmp_init(&t);
	CHECK_INT(store_open(&s, t.db, 100, 0, err, sizeof err), -1);
	CHECK(s == NULL);
	if (!strstr(err, t.db) || !strstr(err, "streamer init-db"))
		printf("# err: %s\n", err);
	CHECK(strstr(err, t.db) != NULL);
	CHECK(strstr(err, "does not exist") != NULL);
	CHECK(strstr(err, "streamer init-db") != NULL);
	CHECK(stat(t.db, &sb) < 0 && errno == ENOENT);
	tmp_done(&t);
}

/* The database and its -wal/-shm are 0600 whatever the umask; 0640 with a group. */
static void test_created_file_modes(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000);
	struct stat sb;
	char path[4300], err[512] = "";
	static const char *const suffix[] = { "", "-wal", "-shm" };

	umask(0);
	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", t.db, suffix[i]);
		CHECK(stat(path, &sb) == 0);
		if ((sb.st_mode & 0777) != 0600)
			printf("# %s has mode %o\n", path, (unsigned)(sb.st_mode & 0777));
		CHECK_INT(sb.st_mode & 0777, 0600);
	}
	store_close(s);
	tmp_done(&t);

	tmp_init(&t);
	CHECK_INT(store_create_file(t.db, (long long)getgid(), err, sizeof err), 1);
	CHECK_INT(store_create_file(t.db, (long long)getgid(), err, sizeof err), 0);
	CHECK(stat(t.db, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0640);
	CHECK_INT(sb.st_gid, getgid());
	CHECK_INT(store_open(&s, t.db, 1000, 0, err, sizeof err), 0);
	put_ok(s, &r);
	snprintf(path, sizeof path, "%s-wal", t.db);
	CHECK(stat(path, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0640);
	store_close(s);
	tmp_done(&t);
}

/* Calls until one fails (the check runs at most every 2 s); returns its result. */
static int put_until_refused(struct store *s)
{
	struct conn_record r = rec("c2", "t1", 2000);

	for (int i = 0; i < 1000; i++) {
		int rc = store_conn_put(s, &r);

		if (rc != STORE_OK)
			return rc;
		usleep(10 * 1000);
	}
	return STORE_OK;
}

/* A database deleted or replaced under an open handle is refused, never written to silently. */
static void test_deleted_or_replaced_file_is_detected(void)
{
	struct tmp t;
	struct store *s, *other;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };
	char path[4300], moved[4300];

	/* Deleted: the database and its -wal/-shm. */
	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	CHECK_INT(store_check(s), STORE_OK);
	CHECK(unlink(t.db) == 0);
	snprintf(path, sizeof path, "%s-wal", t.db);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", t.db);
	unlink(path);
	CHECK_INT(put_until_refused(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), t.db) != NULL);
	CHECK(strstr(store_errmsg(s), "deleted or replaced") != NULL);
	/* It stays refused, every call, at once. */
	CHECK_INT(store_check(s), STORE_ERROR);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_ERROR);
	CHECK_INT(store_begin(s), STORE_ERROR);
	CHECK_INT(store_ping(s), STORE_ERROR);
	store_close(s);
	tmp_done(&t);

	/* Replaced: another database renamed over the path. */
	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	snprintf(moved, sizeof moved, "%s/new.db", t.dir);
	other = open_ok(moved, 1000);
	store_close(other);
	CHECK(rename(moved, t.db) == 0);
	CHECK_INT(put_until_refused(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "deleted or replaced") != NULL);
	{
		struct conn_record late = rec("c3", "t1", 3000);

		CHECK_INT(store_conn_put(s, &late), STORE_ERROR);
	}
	store_close(s);
	/* Nothing written after the detection reached the new file at the path. */
	s = open_ok(t.db, 1000);
	CHECK_INT(store_conn_get(s, "c3", &got), STORE_NOTFOUND);
	store_close(s);
	tmp_done(&t);
}

TAP_MAIN(
	TAP_TEST(test_open_creates_wal_database),
	TAP_TEST(test_reopen_is_idempotent),
	TAP_TEST(test_newer_schema_is_refused),
	TAP_TEST(test_open_errors_name_the_path),
	TAP_TEST(test_missing_file_is_not_created),
	TAP_TEST(test_created_file_modes),
	TAP_TEST(test_deleted_or_replaced_file_is_detected),
	TAP_TEST(test_put_get_round_trip),
	TAP_TEST(test_put_replaces),
	TAP_TEST(test_put_refuses_a_live_row_of_another),
	TAP_TEST(test_dependent_rows_follow_the_connection),
	TAP_TEST(test_touch_live_row),
	TAP_TEST(test_touch_expired_row_is_left_alone),
	TAP_TEST(test_keepalive),
	TAP_TEST(test_token_expiry_caps_expiry),
	TAP_TEST(test_add_sent),
	TAP_TEST(test_delete),
	TAP_TEST(test_count_user),
	TAP_TEST(test_list),
	TAP_TEST(test_transactions),
	TAP_TEST(test_busy_is_reported),
	TAP_TEST(test_two_processes_write_concurrently),
	TAP_TEST(test_hot_statements_use_keys),
)
