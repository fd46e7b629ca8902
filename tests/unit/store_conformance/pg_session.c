/* pg_session.c - the PostgreSQL engine's session: a server restart fails the call that meets it, the next call reconnects (after a failed try, a pause of 500 ms), a transaction is never resumed on a new session, wake-ups come back, an old schema is refused, write transactions lock only one connection, user or tenant and wait for it up to the busy timeout. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conformance.h"
#include "queue.h"
#include "store.h"
#include "util.h"

/*
 * Run by `make check-postgresql` only: STREAMER_TEST_PG_RESTART is a shell
 * command that stops the server and starts it again (every session is cut).
 * Without it (or on the default SQLite store) each test passes doing nothing.
 */
static int restart_server(void)
{
	const char *cmd = getenv("STREAMER_TEST_PG_RESTART");

	if (!cmd || !*cmd || conf_default_sqlite())
		return 0;
	CHECK(system(cmd) == 0);
	return 1;
}

static int pg_run_here(void)
{
	const char *cmd = getenv("STREAMER_TEST_PG_RESTART");

	return cmd && *cmd && getenv("STREAMER_TEST_STORE_URL") != NULL;
}

/* A lost session: one call fails saying so, the next reconnects and finds the rows. */
static void test_restart_outside_a_transaction(void)
{
	struct conn_record a = rec("a", "acme", 1000), got = { 0 };
	struct store *s;
	int rc;

	if (!pg_run_here())
		return;
	conf_setup();
	s = conf_open();
	put_ok(s, &a);
	CHECK(restart_server());
	rc = store_ping(s);
	CHECK_INT(rc, STORE_ERROR);
	printf("# %s\n", store_errmsg(s));
	CHECK(strstr(store_errmsg(s), "connection was lost") != NULL);
	/* reconnected and prepared again: every kind of call works */
	CHECK_INT(store_ping(s), STORE_OK);
	CHECK_INT(store_conn_get(s, "a", &got), STORE_OK);
	CHECK_STR(got.tenant_id, "acme");
	conn_record_free(&got);
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_conn_delete(s, "a", NULL), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	conf_teardown(s);
}

/* A session lost inside a transaction: its calls fail until rollback; nothing of it is kept. */
static void test_restart_inside_a_transaction(void)
{
	struct conn_record a = rec("a", "acme", 1000), b = rec("b", "acme", 1000);
	struct store *s;

	if (!pg_run_here())
		return;
	conf_setup();
	s = conf_open();
	CHECK_INT(store_begin(s), STORE_OK);
	put_ok(s, &a);
	CHECK(restart_server());
	CHECK_INT(store_conn_put(s, &b), STORE_ERROR);
	/* still inside: no reconnect that would run the rest outside the transaction */
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "roll it back") != NULL);
	store_rollback(s);
	CHECK_INT(store_conn_get(s, "a", NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_get(s, "b", NULL), STORE_NOTFOUND);
	conf_teardown(s);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, ms) == 1;
}

/* A listener whose session was cut listens again after a drain; a notify then wakes it. */
static void test_wake_after_restart(void)
{
	struct store *l, *w;
	char err[256];

	if (!pg_run_here())
		return;
	conf_setup();
	l = conf_open();
	w = conf_open();
	CHECK_INT(store_wake_listen(l, err, sizeof err), 0);
	CHECK(restart_server());
	/* the cut session's socket reports EOF: drain opens a new session */
	CHECK(readable(store_wake_fd(l), 2000));
	store_wake_drain(l);
	CHECK(store_wake_fd(l) >= 0);
	store_wake_notify(w); /* w's own session was cut too: this call may be lost */
	store_wake_notify(w);
	CHECK(readable(store_wake_fd(l), 2000));
	store_close(w);
	conf_teardown(l);
}

/* A store whose schema is older than the build is refused by a plain open, naming both versions. */
static void test_old_schema_is_refused(void)
{
	struct store *s = NULL;
	char err[512] = "";

	if (!pg_run_here())
		return;
	conf_setup(); /* the reset leaves an empty schema: version 0 */
	CHECK_INT(store_open(&s, conf_url, NULL, 0, err, sizeof err), -1);
	printf("# %s\n", err);
	CHECK(strstr(err, "schema version 0 is older than this build") != NULL);
	CHECK(strstr(err, "init-db") != NULL);
	CHECK_INT(store_create(conf_url, -1, err, sizeof err), 0);
	CHECK_INT(store_open(&s, conf_url, NULL, 0, err, sizeof err), 0);
	CHECK_INT(store_schema_version(s), store_schema_latest());
	conf_teardown(s);
}

/*
 * Write transactions lock only what their groups need (pg_begin): one
 * connection's row, one user's key, one tenant's key. Another writer of the
 * same thing waits up to the busy timeout and then fails saying "is busy";
 * a writer of anything else goes on at once (with one lock for all, each
 * "goes on" below would fail busy too). A read snapshot waits for nothing.
 */
static void test_busy_timeout(void)
{
	struct store_options opt = { .busy_timeout_ms = 200 };
	struct conn_record c1 = rec("c1", "acme", 1000), c2 = rec("c2", "acme", 1000), got = { 0 };
	struct store *a, *b = NULL;
	struct queue *qa, *qb;
	struct buf arena_a = { 0 }, arena_b = { 0 };
	char err[512] = "";
	int64_t n = 0;

	if (!pg_run_here())
		return;
	conf_setup();
	a = conf_open();
	CHECK_INT(store_open(&b, conf_url, &opt, 0, err, sizeof err), 0);
	qa = queue_open(a);
	qb = queue_open(b);
	put_ok(a, &c1);
	put_ok(a, &c2);

	/* a connection's row: a message of c1 holds it */
	CHECK_INT(store_begin(a), STORE_OK);
	CHECK_INT(store_conn_load(a, "c1", &got, &arena_a), STORE_OK);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(store_conn_load(b, "c1", &got, &arena_b), STORE_ERROR);
	printf("# %s\n", store_errmsg(b));
	CHECK(strstr(store_errmsg(b), "is busy") != NULL);
	store_rollback(b);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(store_conn_delete(b, "c1", NULL), STORE_ERROR); /* a disconnect waits too */
	CHECK(strstr(store_errmsg(b), "is busy") != NULL);
	store_rollback(b);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(store_conn_load(b, "c2", &got, &arena_b), STORE_OK); /* another connection */
	CHECK_STR(got.id, "c2");
	CHECK_INT(store_commit(b), STORE_OK);
	CHECK_INT(store_begin_read(b), STORE_OK);
	CHECK_INT(store_conn_load(b, "c1", &got, &arena_b), STORE_OK); /* a read waits for nothing */
	CHECK_INT(store_commit(b), STORE_OK);
	CHECK_INT(store_commit(a), STORE_OK);

	/* a user's key: a connect of (acme, u1) holds it */
	CHECK_INT(store_begin(a), STORE_OK);
	CHECK_INT(store_conn_count_user(a, "acme", "u1", NULL, 0, 10, &n), STORE_OK);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(store_conn_count_user(b, "acme", "u1", NULL, 0, 10, &n), STORE_ERROR);
	CHECK(strstr(store_errmsg(b), "is busy") != NULL);
	store_rollback(b);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(store_conn_count_user(b, "acme", "u2", NULL, 0, 10, &n), STORE_OK);
	CHECK_INT(store_conn_count_user(b, "acme1", "u", NULL, 0, 10, &n), STORE_OK); /* not "acme"+"1u" */
	CHECK_INT(store_commit(b), STORE_OK);
	CHECK_INT(store_commit(a), STORE_OK);

	/* a tenant's key: an enqueue's pending count of acme holds it */
	CHECK_INT(store_begin(a), STORE_OK);
	CHECK_INT(queue_count_tenant_pending(qa, "acme", 10, &n), STORE_OK);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(queue_count_tenant_pending(qb, "acme", 10, &n), STORE_ERROR);
	CHECK(strstr(store_errmsg(b), "is busy") != NULL);
	store_rollback(b);
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(queue_count_tenant_pending(qb, "other", 10, &n), STORE_OK);
	CHECK_INT(store_commit(b), STORE_OK);
	CHECK_INT(store_commit(a), STORE_OK);

	/* once a is done, b gets what it waited for */
	CHECK_INT(store_begin(b), STORE_OK);
	CHECK_INT(store_conn_load(b, "c1", &got, &arena_b), STORE_OK);
	CHECK_INT(queue_count_tenant_pending(qb, "acme", 10, &n), STORE_OK);
	CHECK_INT(store_commit(b), STORE_OK);
	buf_free(&arena_a);
	buf_free(&arena_b);
	queue_close(qa);
	queue_close(qb);
	store_close(b);
	conf_teardown(a);
}

/*
 * A server that takes connections and never answers: a unix socket at the
 * stopped server's path (its directory from the URL's host=, port 5432)
 * that listens and never accepts, so a connect waits its connect_timeout.
 * Returns the listening descriptor; path receives the socket's path.
 */
static int black_hole(const char *url, char *path, size_t pathlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *h = strstr(url, "host=");
	int fd, n;

	CHECK(h != NULL);
	h += 5;
	n = snprintf(path, pathlen, "%.*s/.s.PGSQL.5432", (int)strcspn(h, "&"), h);
	CHECK(n > 0 && (size_t)n < pathlen && (size_t)n < sizeof a.sun_path);
	memcpy(a.sun_path, path, (size_t)n + 1);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(fd, 16) == 0);
	return fd;
}

/* Runs the shell command of environment variable name (make check-postgresql's). */
static void run_env_cmd(const char *name)
{
	const char *cmd = getenv(name);

	CHECK(cmd && *cmd);
	CHECK(system(cmd) == 0);
}

static int64_t now_ms(void)
{
	return time_mono_us() / 1000;
}

/*
 * The reconnect pause (PG_RECONNECT_PAUSE_MS, 500 ms): with the server gone
 * and a host that does not answer in its place, the call that tries to
 * reconnect waits the whole connect_timeout (2 s, the least libpq takes);
 * the calls of the next 500 ms fail at once saying when the next try is,
 * without trying (each would otherwise wait 2 s again: "< 100 ms" holds with
 * room to spare on a loaded machine, and a call that started late, past the
 * pause, is not judged). Once the server is back and the pause has passed,
 * the next call reconnects.
 */
static void test_reconnect_pause(void)
{
	struct conn_record a = rec("a", "acme", 1000), got = { 0 };
	struct store *s = NULL;
	char url[4400], err[512] = "", sock[300];
	int64_t t0, failed_at, took;
	int hole, rc, judged = 0;

	if (!pg_run_here() || !getenv("STREAMER_TEST_PG_STOP"))
		return;
	conf_setup();
	snprintf(url, sizeof url, "%s%sconnect_timeout=2", conf_url, strchr(conf_url, '?') ? "&" : "?");
	CHECK_INT(store_open(&s, url, NULL, STORE_OPEN_CREATE, err, sizeof err), 0);
	put_ok(s, &a);
	run_env_cmd("STREAMER_TEST_PG_STOP");
	hole = black_hole(conf_url, sock, sizeof sock);

	/* the call that meets the cut session fails; the next tries to reconnect and waits */
	CHECK_INT(store_ping(s), STORE_ERROR);
	t0 = now_ms();
	CHECK_INT(store_ping(s), STORE_ERROR);
	failed_at = now_ms();
	printf("# a reconnect to a host that does not answer took %lld ms: %s\n",
	       (long long)(failed_at - t0), store_errmsg(s));
	CHECK(failed_at - t0 >= 1500);
	CHECK(strstr(store_errmsg(s), "cannot reconnect") != NULL);

	/* within the pause: every kind of call fails at once, trying nothing */
	for (int i = 0; i < 5; i++) {
		t0 = now_ms();
		if (t0 - failed_at >= 400)
			break;
		rc = i % 2 ? store_conn_get(s, "a", NULL) : store_ping(s);
		took = now_ms() - t0;
		printf("# call %d, %lld ms after the failed reconnect: %lld ms: %s\n", i,
		       (long long)(t0 - failed_at), (long long)took, store_errmsg(s));
		CHECK_INT(rc, STORE_ERROR);
		CHECK(strstr(store_errmsg(s), "the next try in") != NULL);
		CHECK(took < 100);
		judged++;
	}
	CHECK(judged >= 1);

	/* the server back: after the pause, the next call reconnects */
	close(hole);
	unlink(sock);
	run_env_cmd("STREAMER_TEST_PG_START");
	while (now_ms() - failed_at < 600)
		usleep(20000);
	rc = store_conn_get(s, "a", &got);
	if (rc != STORE_OK)
		printf("# %s\n", store_errmsg(s));
	CHECK_INT(rc, STORE_OK);
	CHECK_STR(got.tenant_id, "acme");
	conn_record_free(&got);
	CHECK_INT(store_ping(s), STORE_OK);
	conf_teardown(s);
}

TAP_MAIN(
	TAP_TEST(test_restart_outside_a_transaction),
	TAP_TEST(test_reconnect_pause),
	TAP_TEST(test_restart_inside_a_transaction),
	TAP_TEST(test_wake_after_restart),
	TAP_TEST(test_old_schema_is_refused),
	TAP_TEST(test_busy_timeout)
)
