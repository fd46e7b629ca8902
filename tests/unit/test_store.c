/* test_store.c - the SQLite connection store: schema, WAL, every call, transactions, concurrency, query plans. */
#include <dirent.h>
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

#define TTL 60000

/* A fresh directory per test holding the database file; removed by tmp_done. */
struct tmp {
	char dir[4096];
	char db[4200];
};

static void tmp_init(struct tmp *t)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (!base || !*base)
		base = "/tmp";
	n = snprintf(t->dir, sizeof t->dir, "%s/test_store.XXXXXX", base);
	CHECK(n > 0 && (size_t)n < sizeof t->dir);
	CHECK(mkdtemp(t->dir) != NULL);
	n = snprintf(t->db, sizeof t->db, "%s/streamer.db", t->dir);
	CHECK(n > 0 && (size_t)n < sizeof t->db);
}

/* Removes the directory and the files in it (database, -wal, -shm). */
static void tmp_done(struct tmp *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *e;

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		char path[4400];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", t->dir, e->d_name);
		CHECK(unlink(path) == 0);
	}
	closedir(d);
	CHECK(rmdir(t->dir) == 0);
}

static struct store *open_ok(const char *path, int busy_ms)
{
	struct store *s = NULL;
	char err[512] = "";
	int rc = store_open(&s, path, busy_ms, err, sizeof err);

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

	CHECK_INT(store_open(&s, t.db, 1000, err, sizeof err), -1);
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
	CHECK_INT(store_open(&s, path, 100, err, sizeof err), -1);
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL);

	/* An in-memory database cannot be in WAL mode. */
	CHECK_INT(store_open(&s, ":memory:", 100, err, sizeof err), -1);
	CHECK(strstr(err, "WAL") != NULL);

	CHECK_INT(store_open(&s, "", 100, err, sizeof err), -1);
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
	struct conn_record a = rec("c1", "t1", 100), b = rec("c1", "t2", 200), got = { 0 };
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
		/* Reading back a bounded subquery's rows is not a table scan. */
		CHECK(strncmp(detail, "SCAN", 4) != 0 || strncmp(detail, "SCAN (subquery-", 15) == 0);
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
	check_plan(db, "STMT_CONN_ADD_SENT", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_GET", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_DELETE", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_LIST_TENANT", "USING INDEX connections_tenant_user (tenant_id=?)");
	check_plan(db, "STMT_CONN_COUNT_USER", "USING INDEX connections_tenant_user (tenant_id=? AND user_id=?)");
	raw_exec(db, "ANALYZE");
	check_plan(db, "STMT_CONN_TOUCH", "USING PRIMARY KEY (id=?)");
	check_plan(db, "STMT_CONN_LIST_TENANT", "USING INDEX connections_tenant_user (tenant_id=?)");
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

TAP_MAIN(
	TAP_TEST(test_open_creates_wal_database),
	TAP_TEST(test_reopen_is_idempotent),
	TAP_TEST(test_newer_schema_is_refused),
	TAP_TEST(test_open_errors_name_the_path),
	TAP_TEST(test_put_get_round_trip),
	TAP_TEST(test_put_replaces),
	TAP_TEST(test_dependent_rows_follow_the_connection),
	TAP_TEST(test_touch_live_row),
	TAP_TEST(test_touch_expired_row_is_left_alone),
	TAP_TEST(test_keepalive),
	TAP_TEST(test_add_sent),
	TAP_TEST(test_delete),
	TAP_TEST(test_count_user),
	TAP_TEST(test_list),
	TAP_TEST(test_transactions),
	TAP_TEST(test_busy_is_reported),
	TAP_TEST(test_two_processes_write_concurrently),
	TAP_TEST(test_hot_statements_use_keys),
)
