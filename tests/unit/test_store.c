/* test_store.c - the SQLite engine only: engine URLs, files and modes, WAL, schema migration, busy locks, replaced files, concurrent creation, query plans (the interface itself: store_conformance/). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "queue.h"
#include "store.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sql.h"
#include "subs.h"
#include "store_conformance/conformance.h"
#include "tap.h"
#include "tmpdir.h"

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

/* The SQLite engine's options with a busy timeout of ms. */
#define BUSY(ms) (&(struct store_options){ .busy_timeout_ms = (ms) })

static struct store *open_ok(const char *path, int busy_ms)
{
	struct store *s = NULL;
	char err[512] = "";
	int rc = store_open(&s, path, BUSY(busy_ms), STORE_OPEN_CREATE, err, sizeof err);

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

	CHECK_INT(store_open(&s, t.db, BUSY(1000), 0, err, sizeof err), -1);
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
	CHECK_INT(store_open(&s, path, BUSY(100), 0, err, sizeof err), -1);
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL);

	/* An in-memory database cannot be in WAL mode. */
	CHECK_INT(store_open(&s, ":memory:", BUSY(100), 0, err, sizeof err), -1);
	CHECK(strstr(err, "WAL") != NULL);

	CHECK_INT(store_open(&s, "", BUSY(100), 0, err, sizeof err), -1);
	CHECK(err[0] != '\0');
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
	{
		struct conn_touch sent = { .now = 150, .expires_at = 100, .sent = 4 };

		CHECK_INT(store_conn_touch(s, "c1", &sent), STORE_OK);
	}
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

static void test_busy_is_reported(void)
{
	struct tmp t;
	struct store *s;
	struct conn_record a = rec("a", "t1", 1);
	struct conn_touch t2 = { .now = 2, .expires_at = 2 + TTL, .active_at = 2, .received = 1 };
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 50);
	put_ok(s, &a);
	db = raw_open(t.db);
	raw_exec(db, "BEGIN IMMEDIATE");

	CHECK_INT(store_begin(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "busy") != NULL);
	CHECK(strstr(store_errmsg(s), t.db) != NULL);
	CHECK_INT(store_conn_touch(s, "a", &t2), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "busy") != NULL);
	/* Readers are not blocked by a writer in WAL mode. */
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_OK);
	CHECK_INT(store_ping(s), STORE_OK);

	raw_exec(db, "COMMIT");
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_conn_touch(s, "a", &t2), STORE_OK);
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
		{
			struct conn_touch t = { .now = i + 1, .expires_at = i + 1 + TTL, .active_at = i + 1,
						.received = 1 };

			CHECK_INT(store_conn_touch(s, id, &t), STORE_OK);
		}
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
	QUEUE_SQL_STATEMENTS(X)
	SUBS_SQL_STATEMENTS(X)
	HISTORY_SQL_STATEMENTS(X)
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
	check_plan(db, "STMT_CONN_REFRESH", "USING PRIMARY KEY (id=?)");
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
	CHECK_INT(store_open(&s, t.db, BUSY(100), 0, err, sizeof err), -1);
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
	CHECK_INT(store_create(t.db, (long long)getgid(), err, sizeof err), 1);
	CHECK_INT(store_create(t.db, (long long)getgid(), err, sizeof err), 0);
	CHECK(stat(t.db, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0640);
	CHECK_INT(sb.st_gid, getgid());
	CHECK_INT(store_open(&s, t.db, BUSY(1000), 0, err, sizeof err), 0);
	put_ok(s, &r);
	snprintf(path, sizeof path, "%s-wal", t.db);
	CHECK(stat(path, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0640);
	store_close(s);
	tmp_done(&t);
}

/* A subs_id_fn for walks that must not reach a row. */
static int refuse_row(void *arg, const char *connection_id)
{
	(void)arg;
	(void)connection_id;
	CHECK(!"a refused store gave a row");
	return 1;
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
	CHECK_INT(store_ping(s), STORE_OK);
	CHECK(unlink(t.db) == 0);
	snprintf(path, sizeof path, "%s-wal", t.db);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", t.db);
	unlink(path);
	CHECK_INT(put_until_refused(s), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), t.db) != NULL);
	CHECK(strstr(store_errmsg(s), "deleted or replaced") != NULL);
	/* It stays refused, every call, at once. */
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_ERROR);
	CHECK_INT(store_begin(s), STORE_ERROR);
	CHECK_INT(store_ping(s), STORE_ERROR);
	{
		int64_t conns, pending, running;
		struct request_record req = { 0 };
		struct queue *q = queue_open(s);
		struct subs *u = subs_open(s);

		CHECK_INT(store_gauges(s, 1000, &conns, &pending, &running), STORE_ERROR);
		CHECK_INT(queue_get_own(q, "t1", "user-1", "r1", &req), STORE_ERROR);
		CHECK_INT(subs_topic_members(u, "t1", "news", 1000, refuse_row, NULL),
			  STORE_ERROR);
		CHECK(strstr(store_errmsg(s), "deleted or replaced") != NULL);
		subs_close(u);
		queue_close(q);
	}
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

/* The queue's statements reach requests through indexes: none scans the table (moved from test_queue.c). */
static void test_statements_do_not_scan(void)
{
	struct tmp t;
	struct store *s;
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	db = raw_open(t.db);
	/* 2,000 pending requests of one tenant, 10 of another, as the queue stores them. */
	raw_exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2009) "
		 "INSERT INTO requests (id, request_id, connection_id, user_id, tenant_id, action, "
		 "payload, status, created_at, updated_at, run_after) "
		 "SELECT printf('job_%024d', i), 'r' || i, CASE WHEN i < 2000 THEN 'ca' ELSE 'cb' END, "
		 "'u', CASE WHEN i < 2000 THEN 'tenant-a' ELSE 'tenant-b' END, 'echo_async', "
		 "'{\"n\":1}', 'PENDING', 1000 + i, 1000 + i, 1000 + i FROM n");
	CHECK_INT(raw_int(db, "SELECT count(*) FROM requests WHERE status = 'PENDING'"), 2010);
	raw_exec(db, "ANALYZE");
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
		const char *sql = statements[i].sql;
		char text[4096];
		sqlite3_stmt *st = NULL;

		/* Only the queue's; gc's whole-table delete is not per-event. */
		if (strncmp(statements[i].name, "Q_", 2) != 0 || strstr(sql, "expires_at <= ?1"))
			continue;
		snprintf(text, sizeof text, "EXPLAIN QUERY PLAN %s", sql);
		CHECK_INT(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);

			if (getenv("TEST_VERBOSE"))
				printf("# %zu: %s\n", i, detail);
			if (strncmp(detail, "SCAN requests", 13) == 0 && !strstr(detail, "USING")) {
				printf("# %s\n#   %s\n", sql, detail);
				CHECK(!"a queue statement scans requests");
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

/*
 * The streams' statements on a stream with many messages among many
 * streams: each reaches its rows through a primary key (or walks one
 * stream's rows in offset order), never a scan of a table; gc's deletes
 * by time are the exception (sql/008_streams.sql's indexes, not per event).
 */
static void test_history_statements_do_not_scan(void)
{
	struct tmp t;
	struct store *s;
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	db = raw_open(t.db);
	raw_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
		 "INSERT INTO streams SELECT 'topic:t:' || i, '0123456789abcdef', 1000, 1000 + i FROM n");
	raw_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
		 "INSERT INTO history SELECT 'topic:t:' || (i % 5 + 1), i, NULL, 'x', 1000 + i FROM n");
	raw_exec(db, "INSERT INTO connections (id, user_id, tenant_id, permissions, connected_at, "
		 "last_active_at, expires_at, messages_received, messages_sent) "
		 "VALUES ('c1', 'u', 't', '[]', 1, 1, 9, 0, 0)");
	raw_exec(db, "INSERT INTO subscriptions (connection_id, tenant_id, topic, created_at) "
		 "VALUES ('c1', 't', '1', 1)");
	raw_exec(db, "ANALYZE");
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
		const char *sql = statements[i].sql;
		char text[4096];
		sqlite3_stmt *st = NULL;

		if (strncmp(statements[i].name, "H_", 2) != 0 ||
		    strncmp(statements[i].name, "H_GC_", 5) == 0 || strchr(sql, '?') == NULL)
			continue;
		snprintf(text, sizeof text, "EXPLAIN QUERY PLAN %s", sql);
		CHECK_INT(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);

			if (getenv("TEST_VERBOSE"))
				printf("# %s: %s\n", statements[i].name, detail);
			if (strncmp(detail, "SCAN streams", 12) == 0 ||
			    strncmp(detail, "SCAN history", 12) == 0 ||
			    strncmp(detail, "SCAN subscriptions", 18) == 0) {
				printf("# %s\n#   %s\n", sql, detail);
				CHECK(!"a stream statement scans a table");
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

/*
 * A database of schema version 8 (rows and all) opened by this build: the
 * migration to 9 keeps its rows, which read as before with no topic claims,
 * and their subscriptions as exact ones without presence.
 */
static void test_migration_from_version_8(void)
{
	struct tmp t;
	struct store *s;
	struct subs *u;
	struct conn_record got = { 0 };
	enum subs_add_result res;
	sqlite3 *db;
	int64_t n;

	tmp_init(&t);
	db = raw_open(t.db);
	raw_exec(db, "PRAGMA journal_mode=WAL");
	for (const struct store_migration *m = store_migrations; m->sql && m->version <= 8; m++)
		raw_exec(db, m->sql);
	raw_exec(db, "PRAGMA user_version = 8");
	raw_exec(db, "INSERT INTO connections (id, user_id, tenant_id, permissions, connected_at, "
		 "last_active_at, expires_at) VALUES ('c1', 'alice', 'acme', '[]', 1, 1, 9000)");
	raw_exec(db, "INSERT INTO subscriptions VALUES ('c1', 'acme', 'news', 1)");
	sqlite3_close(db);

	s = open_ok(t.db, 1000);
	CHECK_INT(store_schema_version(s), 9);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_STR(got.user_id, "alice");
	CHECK(got.topic_claims == NULL);
	conn_record_free(&got);
	u = subs_open(s);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "alice", 5000, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(subs_presence_watchers(u, "acme", "news", 5000, refuse_row, NULL), STORE_OK);
	/* the old row takes a presence flag like a new one */
	CHECK_INT(subs_add(u, "c1", "acme", "news", 1, 18, 5000, &res), STORE_OK);
	CHECK_INT(res, SUBS_ALREADY);
	subs_close(u);
	store_close(s);
	db = raw_open(t.db);
	CHECK_INT(raw_int(db, "SELECT presence FROM subscriptions WHERE topic = 'news'"), 1);
	CHECK_INT(raw_int(db, "SELECT pattern FROM subscriptions WHERE topic = 'news'"), 0);
	CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
			  "('subscriptions_pattern', 'subscriptions_presence')"), 2);
	sqlite3_close(db);
	tmp_done(&t);
}

/*
 * The subscriptions' statements (presence and patterns among them) on a
 * store with many connections and subscriptions: each reaches its rows
 * through a key or an index (subscriptions_pattern and
 * subscriptions_presence for the partial ones), never a scan of a table.
 */
static void test_subs_statements_do_not_scan(void)
{
	static const struct {
		const char *name, *want;
	} uses[] = {
		{ "S_PATTERNS", "INDEX subscriptions_pattern (tenant_id=?" },
		{ "S_PRESENCE_WATCHERS", "INDEX subscriptions_presence (tenant_id=? AND topic=?)" },
		{ "S_PRESENCE", "INDEX subscriptions_topic (tenant_id=? AND topic=?)" },
		{ "S_PRESENCE_COUNT", "INDEX subscriptions_topic (tenant_id=? AND topic=?)" },
		{ "S_USER_TOPIC_COUNT", "PRIMARY KEY (connection_id=? AND topic=?)" },
		{ "S_CONNECTION_TOPICS", "PRIMARY KEY (connection_id=?)" },
	};
	struct tmp t;
	struct store *s;
	sqlite3 *db;

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	db = raw_open(t.db);
	raw_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
		 "INSERT INTO connections (id, user_id, tenant_id, permissions, connected_at, "
		 "last_active_at, expires_at) SELECT 'c' || i, 'u' || (i % 300), 't' || (i % 10), "
		 "'[]', 1, 1, 1000 + i FROM n");
	raw_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
		 "INSERT INTO subscriptions (connection_id, tenant_id, topic, created_at, presence) "
		 "SELECT 'c' || i, 't' || (i % 10), 'topic' || (i % 40), 1, i % 7 = 0 FROM n");
	raw_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
		 "INSERT INTO subscriptions (connection_id, tenant_id, topic, created_at, pattern) "
		 "SELECT 'c' || i, 't' || (i % 10), 'p' || (i % 3) || '.*', 1, 1 FROM n");
	for (int analyzed = 0; analyzed < 2; analyzed++) {
		if (analyzed)
			raw_exec(db, "ANALYZE");
		for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
			const char *sql = statements[i].sql;
			const char *want = NULL;
			char text[4096];
			sqlite3_stmt *st = NULL;
			int found = 0;

			if (strncmp(statements[i].name, "S_", 2) != 0)
				continue;
			for (size_t k = 0; k < sizeof uses / sizeof uses[0]; k++)
				if (!strcmp(uses[k].name, statements[i].name))
					want = uses[k].want;
			snprintf(text, sizeof text, "EXPLAIN QUERY PLAN %s", sql);
			CHECK_INT(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *detail = (const char *)sqlite3_column_text(st, 3);

				if (getenv("TEST_VERBOSE"))
					printf("# %s: %s\n", statements[i].name, detail);
				if ((strncmp(detail, "SCAN subscriptions", 18) == 0 ||
				     strncmp(detail, "SCAN connections", 16) == 0 ||
				     strncmp(detail, "SCAN s", 6) == 0 || strncmp(detail, "SCAN c", 6) == 0) &&
				    !strstr(detail, "USING")) {
					printf("# %s\n#   %s\n", sql, detail);
					CHECK(!"a subscriptions statement scans a table");
				}
				if (want && strstr(detail, want))
					found = 1;
			}
			sqlite3_finalize(st);
			if (want && !found)
				printf("# %s does not use %s\n", statements[i].name, want);
			CHECK(!want || found);
		}
	}
	sqlite3_close(db);
	store_close(s);
	tmp_done(&t);
}

/*
 * STREAMER_DB: a plain path and "sqlite:<path>" both open the SQLite file
 * at path; "<scheme>://…" of an engine this build lacks is refused by
 * name, without repeating the rest of the URL (it may hold a password).
 */
static void check_host_file(const char *url, const char *dir, const char *want)
{
	char *got = store_host_file(url, dir, ".metrics");

	CHECK_STR(got, want);
	free(got);
}

static void test_engine_urls(void)
{
	struct tmp t;
	struct store *s;
	char url[4300], err[512] = "";
	struct conn_record r = rec("c1", "t1", 1000);

	tmp_init(&t);
	s = open_ok(t.db, 1000);
	put_ok(s, &r);
	store_close(s);
	snprintf(url, sizeof url, "sqlite:%s", t.db);
	s = open_ok(url, 1000);
	CHECK_INT(store_conn_get(s, "c1", NULL), STORE_OK);
	store_close(s);
	CHECK_INT(store_create(url, -1, err, sizeof err), 0);

	s = (struct store *)1;
	CHECK_INT(store_open(&s, "mongodb://u:pw@db.example/streamer", NULL, 0, err, sizeof err), -1);
	CHECK(s == NULL);
	printf("# %s\n", err);
	CHECK(strstr(err, "no store engine for mongodb://") != NULL);
	CHECK(strstr(err, "pw") == NULL);
	/* postgresql:// (and postgres://) is an engine of builds with libpq, else refused alike. */
	s = (struct store *)1;
	CHECK_INT(store_open(&s, "postgres://u:pw@/streamer?host=/nonexistent", NULL, 0, err,
			     sizeof err), -1);
	CHECK(s == NULL);
	printf("# %s\n", err);
#ifdef HAVE_LIBPQ
	CHECK(strstr(err, "cannot connect to the PostgreSQL database") != NULL);
#else
	CHECK(strstr(err, "no store engine for postgres://") != NULL);
#endif
	CHECK(strstr(err, "pw") == NULL);
	CHECK_INT(store_create("mysql://x/y", -1, err, sizeof err), -1);
	CHECK(strstr(err, "no store engine for mysql://") != NULL);
	/* "sqlite:" with a missing file names the path, as a plain path does. */
	snprintf(url, sizeof url, "sqlite:%s/missing.db", t.dir);
	CHECK_INT(store_open(&s, url, NULL, 0, err, sizeof err), -1);
	CHECK(strstr(err, "missing.db does not exist") != NULL);
	/* The host's shared files go beside the database file, whichever way it is named. */
	check_host_file("sqlite:/var/lib/s.db", NULL, "/var/lib/s.db.metrics");
	check_host_file("/var/lib/s.db", "", "/var/lib/s.db.metrics");
	/* STREAMER_HOST_DIR, when set, wins for every engine. */
	check_host_file("/var/lib/s.db", "/run/st", "/run/st/streamer.metrics");
	check_host_file("postgresql://h/db", "/run/st", "/run/st/streamer.metrics");
	/* A database that is no file: /var/tmp, named by a hash of the URL without its password. */
	{
		char *a = store_host_file("postgresql://u:one@h/db", NULL, ".activity");
		char *b = store_host_file("postgresql://u:two@h/db", NULL, ".activity");
		char *c = store_host_file("postgresql://u@h/other", NULL, ".activity");

		CHECK(strncmp(a, "/var/tmp/streamer-", 18) == 0 && strlen(a) == 18 + 16 + 9);
		CHECK(strcmp(a + strlen(a) - 9, ".activity") == 0);
		CHECK_STR(a, b);
		CHECK(strcmp(a, c) != 0);
		free(a);
		free(b);
		free(c);
	}
	tmp_done(&t);
}

/* store_url_redacted: no password survives, everything else does. */
static void test_url_redacted(void)
{
	static const char *const cases[][2] = {
		{ "/var/lib/s.db", "/var/lib/s.db" },
		{ "postgresql://h/db", "postgresql://h/db" },
		{ "postgresql://u@h/db", "postgresql://u@h/db" },
		{ "postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db" },
		{ "postgres://u:p@ss@h/db", "postgres://u:***@ss@h/db" },
		{ "postgresql:///db?host=/run/pg&password=s3cret&sslmode=require",
		  "postgresql:///db?host=/run/pg&password=***&sslmode=require" },
		{ "postgresql://u:a@h/db?password=b", "postgresql://u:***@h/db?password=***" },
		{ "postgresql://h/db?xpassword=keep", "postgresql://h/db?xpassword=keep" },
		{ "postgresql://h/db?password=", "postgresql://h/db?password=***" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *r = store_url_redacted(cases[i][0]);

		CHECK_STR(r, cases[i][1]);
		free(r);
	}
}

TAP_MAIN(
	TAP_TEST(test_open_creates_wal_database),
	TAP_TEST(test_url_redacted),
	TAP_TEST(test_reopen_is_idempotent),
	TAP_TEST(test_newer_schema_is_refused),
	TAP_TEST(test_open_errors_name_the_path),
	TAP_TEST(test_missing_file_is_not_created),
	TAP_TEST(test_created_file_modes),
	TAP_TEST(test_deleted_or_replaced_file_is_detected),
	TAP_TEST(test_put_replaces),
	TAP_TEST(test_dependent_rows_follow_the_connection),
	TAP_TEST(test_busy_is_reported),
	TAP_TEST(test_two_processes_write_concurrently),
	TAP_TEST(test_hot_statements_use_keys),
	TAP_TEST(test_statements_do_not_scan),
	TAP_TEST(test_history_statements_do_not_scan),
	TAP_TEST(test_subs_statements_do_not_scan),
	TAP_TEST(test_migration_from_version_8),
	TAP_TEST(test_engine_urls),
)
