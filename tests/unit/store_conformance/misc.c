/* misc.c - store conformance, the whole-store calls: schema version, ping, gauges, report activity, processor wake-ups. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "queue.h"
#include "store.h"

/* A fresh store answers, is at the newest schema and has no error yet. */
static void test_schema_version_and_ping(void)
{
	struct store *s, *s2;

	conf_setup();
	s = conf_open();
	CHECK(store_schema_latest() >= 1);
	CHECK_INT(store_schema_version(s), store_schema_latest());
	CHECK_INT(store_ping(s), STORE_OK);
	CHECK_STR(store_errmsg(s), "");
	/* Opening again migrates nothing and sees the same version. */
	s2 = conf_open();
	CHECK_INT(store_schema_version(s2), store_schema_latest());
	store_close(s2);
	conf_teardown(s);
}

/* Enqueues one request of conn in tenant with client id rid at now; returns its server id (free it). */
static char *enqueue(struct queue *q, const char *conn, const char *tenant, const char *rid,
		     int64_t now)
{
	struct request_record r = { 0 };

	r.request_id = (char *)rid;
	r.connection_id = (char *)conn;
	r.user_id = (char *)"user-1";
	r.tenant_id = (char *)tenant;
	r.action = (char *)"echo_async";
	r.payload = (char *)"{}";
	CHECK_INT(queue_enqueue(q, &r, now), STORE_OK);
	return r.id;
}

/* The gauges count live connections and the requests pending and running, in one read. */
static void test_gauges(void)
{
	struct store *s;
	struct queue *q;
	struct request_record got = { 0 };
	struct conn_record a = rec("a", "t1", 1000), b = rec("b", "t2", 1000),
			   old = rec("old", "t1", 10);
	int64_t conns = -1, pending = -1, running = -1;

	conf_setup();
	s = conf_open();
	q = queue_open(s);
	CHECK(q != NULL);
	CHECK_INT(store_gauges(s, 2000, &conns, &pending, &running), STORE_OK);
	CHECK_INT(conns, 0);
	CHECK_INT(pending, 0);
	CHECK_INT(running, 0);
	old.expires_at = 1500;
	put_ok(s, &a);
	put_ok(s, &b);
	put_ok(s, &old);
	free(enqueue(q, "a", "t1", "r1", 1000));
	free(enqueue(q, "a", "t1", "r2", 1001));
	free(enqueue(q, "b", "t2", "r3", 1002));
	CHECK_INT(queue_claim(q, "p1", 2000, 60000, &got), STORE_OK);
	CHECK_INT(store_gauges(s, 2000, &conns, &pending, &running), STORE_OK);
	CHECK_INT(conns, 2);
	CHECK_INT(pending, 2);
	CHECK_INT(running, 1);
	/* Expiry is read at now: at 1000 the old row still counts. */
	CHECK_INT(store_gauges(s, 1000, &conns, &pending, &running), STORE_OK);
	CHECK_INT(conns, 3);
	request_record_free(&got);
	queue_close(q);
	conf_teardown(s);
}

/* Collects activity rows as text lines "at kind tenant id user action status duration". */
struct rows {
	char text[2048];
	int n, stop_after;
};

static int take_row(void *arg, const struct store_activity_row *r)
{
	struct rows *l = arg;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof l->text - len, "%lld %s %s %s %s %s %s %lld;",
		 (long long)r->at_ms, r->kind, r->tenant_id, r->id ? r->id : "-", r->user_id,
		 r->action ? r->action : "-", r->status ? r->status : "-",
		 (long long)r->duration_ms);
	return ++l->n == l->stop_after;
}

/*
 * A tenant's connections and requests in [from, until), oldest first; never
 * another tenant's, never a connection's id; the callback can stop the walk.
 */
static void test_activity(void)
{
	struct store *s;
	struct queue *q;
	struct request_record got = { 0 };
	struct conn_record a = rec("secret-conn-id", "t1", 1000), b = rec("b", "t2", 1500),
			   late = rec("late", "t1", 9000);
	struct rows l = { .stop_after = -1 };
	char *id;

	conf_setup();
	s = conf_open();
	q = queue_open(s);
	CHECK(q != NULL);
	a.last_active_at = 1400;
	put_ok(s, &a);
	put_ok(s, &b);
	put_ok(s, &late);
	id = enqueue(q, "secret-conn-id", "t1", "r1", 1100);
	free(enqueue(q, "b", "t2", "r2", 1200));
	free(enqueue(q, "secret-conn-id", "t1", "r3", 1300));
	CHECK_INT(queue_claim(q, "p1", 2000, 60000, &got), STORE_OK);
	CHECK_STR(got.id, id);
	CHECK_INT(queue_finish(q, got.id, "p1", 2500, QUEUE_COMPLETED, "{}", NULL, NULL, 1000000),
		  STORE_OK);

	CHECK_INT(store_activity(s, "t1", 1000, 5000, take_row, &l), STORE_OK);
	CHECK_STR(l.text, "1000 connection t1 - user-1 - - 400;"
		  "1100 request t1 r1 user-1 echo_async COMPLETED 500;"
		  "1300 request t1 r3 user-1 echo_async PENDING -1;");
	CHECK(strstr(l.text, "secret-conn-id") == NULL);

	memset(&l, 0, sizeof l);
	l.stop_after = 1;
	CHECK_INT(store_activity(s, "t1", 0, 100000, take_row, &l), STORE_OK);
	CHECK_INT(l.n, 1);

	memset(&l, 0, sizeof l);
	l.stop_after = -1;
	CHECK_INT(store_activity(s, "t1", 1001, 1100, take_row, &l), STORE_OK);
	CHECK_INT(l.n, 0);
	free(id);
	request_record_free(&got);
	queue_close(q);
	conf_teardown(s);
}

/* Whether fd becomes readable within ms. */
static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

/* A notify on one handle wakes every listener of the same store; drain empties it. */
static void test_wake(void)
{
	struct store *w, *l1, *l2;
	char err[512] = "";

	conf_setup();
	w = conf_open();
	l1 = conf_open();
	l2 = conf_open();
	CHECK_INT(store_wake_fd(l1), -1);
	store_wake_notify(w); /* nobody listens: nothing happens, nothing fails */
	CHECK_INT(store_wake_listen(l1, err, sizeof err), 0);
	CHECK_INT(store_wake_listen(l2, err, sizeof err), 0);
	CHECK(store_wake_fd(l1) >= 0);
	CHECK(!readable(store_wake_fd(l1), 0));

	/* One notice only: a second could come after the drain and wake l1 again, rightly. */
	store_wake_notify(w);
	CHECK(readable(store_wake_fd(l1), 2000));
	CHECK(readable(store_wake_fd(l2), 2000));
	store_wake_drain(l1);
	CHECK(!readable(store_wake_fd(l1), 0));
	CHECK(readable(store_wake_fd(l2), 0));

	/* A closed listener is gone; the others still hear. */
	store_wake_close(l2);
	CHECK_INT(store_wake_fd(l2), -1);
	store_wake_notify(w);
	CHECK(readable(store_wake_fd(l1), 2000));
	store_close(l2);
	store_close(l1);
	conf_teardown(w);
}

TAP_MAIN(
	TAP_TEST(test_schema_version_and_ping),
	TAP_TEST(test_gauges),
	TAP_TEST(test_activity),
	TAP_TEST(test_wake),
)
