/* queue.c - store conformance, the request queue: enqueue, claim with leases, progress, finish, cancel, expiry, concurrent claimers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queue.h"
#include "store.h"
#include "conformance.h"

#define LEASE 60000
#define KEEP 1000

static void setup(struct store **s, struct queue **q)
{
	conf_setup();
	*s = conf_open();
	*q = queue_open(*s);
	CHECK(*q != NULL);
}

static void teardown(struct store *s, struct queue *q)
{
	queue_close(q);
	conf_teardown(s);
}

/* Enqueues one request of conn/user/tenant with client id rid; returns the server id (caller frees). */
static char *enqueue(struct queue *q, const char *conn, const char *user, const char *tenant,
		     const char *rid, int64_t now)
{
	struct request_record r = { 0 };
	char *id;

	r.request_id = (char *)rid;
	r.connection_id = (char *)conn;
	r.user_id = (char *)user;
	r.tenant_id = (char *)tenant;
	r.action = (char *)"echo_async";
	r.payload = (char *)"{\"n\":1}";
	CHECK_INT(queue_enqueue(q, &r, now), STORE_OK);
	CHECK(r.id && strncmp(r.id, "job_", 4) == 0 && strlen(r.id) == 28);
	id = r.id;
	return id;
}

static void test_enqueue_and_read(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	char *id;

	setup(&s, &q);
	id = enqueue(q, "c1", "alice", "acme", "r1", 1000);
	CHECK_INT(queue_get_own(q, "acme", "alice", "r1", &r), STORE_OK);
	CHECK_STR(r.id, id);
	CHECK_STR(r.status, QUEUE_PENDING);
	CHECK_STR(r.request_id, "r1");
	CHECK_STR(r.connection_id, "c1");
	CHECK_STR(r.action, "echo_async");
	CHECK_STR(r.payload, "{\"n\":1}");
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.created_at, 1000);
	CHECK(r.result == NULL && r.error_code == NULL);
	request_record_free(&r);
	CHECK_INT(queue_get_own(q, "acme", "alice", "nope", &r), STORE_NOTFOUND);
	free(id);
	teardown(s, q);
}

static void test_duplicate_live_id_is_refused(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	char *id;

	setup(&s, &q);
	id = enqueue(q, "c1", "alice", "acme", "dup", 1000);
	r.request_id = (char *)"dup";
	r.connection_id = (char *)"c1";
	r.user_id = (char *)"alice";
	r.tenant_id = (char *)"acme";
	r.action = (char *)"echo_async";
	CHECK_INT(queue_enqueue(q, &r, 1001), STORE_NOTFOUND);
	free(r.id);
	/* Another connection may use the same client id. */
	free(enqueue(q, "c2", "alice", "acme", "dup", 1002));
	/* Once finished, the id is free again on the same connection. */
	memset(&r, 0, sizeof r);
	CHECK_INT(queue_claim(q, "p1", 2000, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, id);
	CHECK_INT(queue_finish(q, id, "p1", 2001, QUEUE_COMPLETED, "1", NULL, NULL, KEEP), STORE_OK);
	request_record_free(&r);
	free(enqueue(q, "c1", "alice", "acme", "dup", 2002));
	free(id);
	teardown(s, q);
}

static void test_claim_order_and_lease(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	char *a, *b;

	setup(&s, &q);
	a = enqueue(q, "c1", "u", "t", "a", 1000);
	b = enqueue(q, "c1", "u", "t", "b", 1001);
	CHECK_INT(queue_claim(q, "p1", 999, LEASE, &r), STORE_NOTFOUND);
	CHECK_INT(queue_claim(q, "p1", 2000, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_STR(r.status, QUEUE_PROCESSING);
	CHECK_INT(r.attempts, 1);
	CHECK_INT(r.lease_until, 2000 + LEASE);
	CHECK_INT(queue_claim(q, "p2", 2001, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, b);
	CHECK_INT(queue_claim(q, "p2", 2002, LEASE, &r), STORE_NOTFOUND);
	/* p1 dies: once its lease has run out, the request is claimed again. */
	CHECK_INT(queue_claim(q, "p3", 2000 + LEASE, LEASE, &r), STORE_NOTFOUND);
	CHECK_INT(queue_claim(q, "p3", 2001 + LEASE, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_INT(r.attempts, 2);
	/* The late p1 no longer holds it. */
	CHECK_INT(queue_finish(q, a, "p1", 3000 + LEASE, QUEUE_COMPLETED, "1", NULL, NULL, KEEP),
		  STORE_NOTFOUND);
	CHECK_INT(queue_progress(q, a, "p1", 3000 + LEASE, LEASE, 50, "x", NULL, NULL), STORE_NOTFOUND);
	CHECK_INT(queue_finish(q, a, "p3", 3000 + LEASE, QUEUE_COMPLETED, "{\"ok\":1}", NULL, NULL,
			       KEEP), STORE_OK);
	request_record_free(&r);
	CHECK_INT(queue_get_own(q, "t", "u", "a", &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_STR(r.status, QUEUE_COMPLETED);
	CHECK_STR(r.result, "{\"ok\":1}");
	CHECK_INT(r.progress, 100);
	CHECK_INT(r.finished_at, 3000 + LEASE);
	request_record_free(&r);
	free(a);
	free(b);
	teardown(s, q);
}

static void test_renew_keeps_the_lease(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	int cancel = -1;
	char *a;

	setup(&s, &q);
	a = enqueue(q, "c1", "u", "t", "a", 1000);
	CHECK_INT(queue_claim(q, "p1", 1000, 100, &r), STORE_OK);
	CHECK_INT(queue_renew(q, a, "p1", 1050, 100, &cancel), STORE_OK);
	CHECK_INT(cancel, 0);
	CHECK_INT(queue_claim(q, "p2", 1120, 100, &r), STORE_NOTFOUND);
	CHECK_INT(queue_renew(q, a, "p2", 1120, 100, &cancel), STORE_NOTFOUND);
	request_record_free(&r);
	free(a);
	teardown(s, q);
}

static void test_progress_and_cancel_running(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	int cancel = -1, running = -1;
	char *a;

	setup(&s, &q);
	a = enqueue(q, "c1", "u", "t", "a", 1000);
	CHECK_INT(queue_claim(q, "p1", 1000, LEASE, &r), STORE_OK);
	CHECK_INT(queue_progress(q, a, "p1", 1100, LEASE, 40, "reading", "{\"rows\":4}", &cancel),
		  STORE_OK);
	CHECK_INT(cancel, 0);
	request_record_free(&r);
	CHECK_INT(queue_get_own(q, "t", "u", "a", &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_INT(r.progress, 40);
	CHECK_STR(r.progress_message, "reading");
	CHECK_STR(r.progress_metadata, "{\"rows\":4}");
	CHECK_INT(queue_cancel(q, a, 1200, KEEP, &running, &r), STORE_OK);
	CHECK_INT(running, 1);
	CHECK_STR(r.status, QUEUE_PROCESSING);
	CHECK_INT(r.cancel_requested, 1);
	CHECK_INT(queue_progress(q, a, "p1", 1300, LEASE, 50, "more", NULL, &cancel), STORE_OK);
	CHECK_INT(cancel, 1);
	CHECK_INT(queue_finish(q, a, "p1", 1301, QUEUE_CANCELLED, NULL, "CANCELLED", "Cancelled",
			       KEEP), STORE_OK);
	CHECK_INT(queue_cancel(q, a, 1400, KEEP, &running, NULL), STORE_NOTFOUND);
	request_record_free(&r);
	free(a);
	teardown(s, q);
}

static void test_cancel_pending_and_by_connection(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	int running = -1, n = -1;
	char *a, *b, *c, *d;

	setup(&s, &q);
	a = enqueue(q, "c1", "u", "t", "a", 1000);
	b = enqueue(q, "c1", "u", "t", "b", 1001);
	c = enqueue(q, "c1", "u", "t", "c", 1002);
	d = enqueue(q, "c2", "u", "t", "d", 1003);
	CHECK_INT(queue_cancel(q, a, 1100, KEEP, &running, &r), STORE_OK);
	CHECK_INT(running, 0);
	CHECK_STR(r.status, QUEUE_CANCELLED);
	CHECK_STR(r.error_code, "CANCELLED");
	request_record_free(&r);
	/* b runs; the disconnect of c1 cancels c only. */
	CHECK_INT(queue_claim(q, "p1", 1200, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, b);
	CHECK_INT(queue_cancel_connection(q, "c1", 1300, KEEP, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(queue_get_own(q, "t", "u", "c", &r), STORE_OK);
	CHECK_STR(r.id, c);
	CHECK_STR(r.status, QUEUE_CANCELLED);
	CHECK_INT(queue_get_own(q, "t", "u", "b", &r), STORE_OK);
	CHECK_STR(r.id, b);
	CHECK_STR(r.status, QUEUE_PROCESSING);
	CHECK_INT(queue_get_own(q, "t", "u", "d", &r), STORE_OK);
	CHECK_STR(r.id, d);
	CHECK_STR(r.status, QUEUE_PENDING);
	CHECK_INT(queue_cancel_connection(q, "c9", 1300, KEEP, &n), STORE_OK);
	CHECK_INT(n, 0);
	request_record_free(&r);
	free(a);
	free(b);
	free(c);
	free(d);
	teardown(s, q);
}

static void test_own_requests_only(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	char *a;

	setup(&s, &q);
	a = enqueue(q, "c1", "alice", "acme", "r1", 1000);
	CHECK_INT(queue_get_own(q, "acme", "alice", "r1", &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_INT(queue_get_own(q, "other", "alice", "r1", &r), STORE_NOTFOUND);
	CHECK_INT(queue_get_own(q, "acme", "bob", "r1", &r), STORE_NOTFOUND);
	CHECK_INT(queue_get_own(q, "acme", "alice", "r2", &r), STORE_NOTFOUND);
	request_record_free(&r);
	free(a);
	teardown(s, q);
}

static void test_release_and_gc(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	int64_t conns, pending, processing;
	int n = -1;
	char *a;

	setup(&s, &q);
	a = enqueue(q, "c1", "u", "t", "a", 1000);
	CHECK_INT(queue_claim(q, "p1", 1000, LEASE, &r), STORE_OK);
	CHECK_INT(store_gauges(s, 1000, &conns, &pending, &processing), STORE_OK);
	CHECK_INT(pending, 0);
	CHECK_INT(processing, 1);
	CHECK_INT(queue_release(q, a, "p1", 1100, 5000), STORE_OK);
	CHECK_INT(queue_claim(q, "p2", 4999, LEASE, &r), STORE_NOTFOUND);
	CHECK_INT(queue_claim(q, "p2", 5000, LEASE, &r), STORE_OK);
	CHECK_INT(r.attempts, 2);
	CHECK_INT(queue_finish(q, a, "p2", 6000, QUEUE_FAILED, NULL, "PROCESSING_FAILED", "boom",
			       KEEP), STORE_OK);
	CHECK_INT(queue_gc(q, 6000 + KEEP - 1, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(queue_gc(q, 6000 + KEEP, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(queue_get_own(q, "t", "u", "a", &r), STORE_NOTFOUND);
	request_record_free(&r);
	free(a);
	teardown(s, q);
}

/* A request enqueued with a later run_after is held: no claim takes it until queue_unhold (or run_after). */
static void test_held_until_unhold(void)
{
	struct store *s;
	struct queue *q;
	struct request_record h = { 0 }, r = { 0 };
	int was_running;
	char *a, *b, *c, *done;
	const char *ids[3];

	setup(&s, &q);
	h.request_id = (char *)"held";
	h.connection_id = (char *)"c1";
	h.user_id = (char *)"u";
	h.tenant_id = (char *)"t";
	h.action = (char *)"echo_async";
	h.run_after = 1000 + 10000;
	CHECK_INT(queue_enqueue(q, &h, 1000), STORE_OK);
	a = h.id;
	CHECK_INT(queue_claim(q, "p1", 1001, LEASE, &r), STORE_NOTFOUND);
	CHECK_INT(queue_get_own(q, "t", "u", "held", &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_STR(r.status, QUEUE_PENDING);
	CHECK_INT(r.run_after, 11000);
	/* held, it can still be cancelled */
	h.id = NULL;
	h.request_id = (char *)"held-cancel";
	CHECK_INT(queue_enqueue(q, &h, 1000), STORE_OK);
	b = h.id;
	CHECK_INT(queue_cancel(q, b, 1002, KEEP, &was_running, NULL), STORE_OK);
	CHECK_INT(was_running, 0);
	/* one already claimable and one finished are left alone */
	c = enqueue(q, "c1", "u", "t", "free", 900);
	done = enqueue(q, "c1", "u", "t", "done", 800);
	CHECK_INT(queue_claim(q, "p0", 1003, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, done);
	ids[0] = a;
	ids[1] = b;
	ids[2] = done;
	CHECK_INT(queue_unhold(q, ids, 3, 1500), STORE_OK);
	CHECK_INT(queue_get_own(q, "t", "u", "done", &r), STORE_OK);
	CHECK_STR(r.id, done);
	CHECK_STR(r.status, QUEUE_PROCESSING);
	CHECK_INT(queue_get_own(q, "t", "u", "held-cancel", &r), STORE_OK);
	CHECK_STR(r.id, b);
	CHECK_STR(r.status, QUEUE_CANCELLED);
	CHECK_INT(queue_claim(q, "p1", 1500, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, c);
	CHECK_INT(queue_claim(q, "p1", 1500, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_INT(r.attempts, 1);
	/* nothing held any more */
	CHECK_INT(queue_unhold(q, ids, 3, 1600), STORE_NOTFOUND);
	/* a holder that never releases (a worker that died): claimable at run_after */
	h.id = NULL;
	h.request_id = (char *)"orphan";
	h.run_after = 2000 + 10000;
	CHECK_INT(queue_enqueue(q, &h, 2000), STORE_OK);
	CHECK_INT(queue_claim(q, "p1", 11999, LEASE, &r), STORE_NOTFOUND);
	CHECK_INT(queue_claim(q, "p1", 12000, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, h.id);
	request_record_free(&r);
	free(h.id);
	free(a);
	free(b);
	free(c);
	free(done);
	teardown(s, q);
}

/* Two processes claim and finish 200 requests at once: each runs exactly once. */
static void test_concurrent_claimers_run_each_once(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	pid_t kids[2];
	char rid[32];
	int status;

	setup(&s, &q);
	CHECK_INT(store_begin(s), STORE_OK);
	for (int i = 0; i < 200; i++) {
		snprintf(rid, sizeof rid, "r%d", i);
		free(enqueue(q, "c1", "u", "t", rid, 1000 + i));
	}
	CHECK_INT(store_commit(s), STORE_OK);
	queue_close(q);
	store_close(s);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		CHECK(kids[k] >= 0);
		if (kids[k] == 0) {
			char owner[16];
			int ret;

			snprintf(owner, sizeof owner, "p%d", k);
			s = conf_open();
			q = queue_open(s);
			CHECK(q != NULL);
			while ((ret = queue_claim(q, owner, 10000, LEASE, &r)) == STORE_OK) {
				char res[64];

				snprintf(res, sizeof res, "\"%s\"", owner);
				CHECK_INT(queue_finish(q, r.id, owner, 10001, QUEUE_COMPLETED, res, NULL,
						       NULL, KEEP), STORE_OK);
			}
			CHECK_INT(ret, STORE_NOTFOUND);
			request_record_free(&r);
			queue_close(q);
			store_close(s);
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		CHECK(waitpid(kids[k], &status, 0) == kids[k]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	{
		int64_t conns, pending, processing;

		s = conf_open();
		q = queue_open(s);
		CHECK(q != NULL);
		CHECK_INT(store_gauges(s, 10002, &conns, &pending, &processing), STORE_OK);
		CHECK_INT(pending, 0);
		CHECK_INT(processing, 0);
		for (int i = 0; i < 200; i++) {
			snprintf(rid, sizeof rid, "r%d", i);
			CHECK_INT(queue_get_own(q, "t", "u", rid, &r), STORE_OK);
			CHECK_STR(r.status, QUEUE_COMPLETED);
			CHECK_INT(r.attempts, 1);
		}
		request_record_free(&r);
	}
	teardown(s, q);
}

/* Enqueues n requests of tenant on connection conn, created at now + i, in one transaction. */
static void enqueue_many(struct store *s, struct queue *q, const char *conn, const char *tenant,
			 int n, int64_t now)
{
	char rid[32];

	CHECK_INT(store_begin(s), STORE_OK);
	for (int i = 0; i < n; i++) {
		snprintf(rid, sizeof rid, "%s-%d", tenant, i);
		free(enqueue(q, conn, "u", tenant, rid, now + i));
	}
	CHECK_INT(store_commit(s), STORE_OK);
}

/*
 * One tenant's 10,000 queued requests do not starve another's single one:
 * with two processors holding their claims, and with one processor that
 * finishes each request before the next claim.
 */
static void test_claim_is_fair_across_tenants(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	char *b;

	setup(&s, &q);
	enqueue_many(s, q, "ca", "tenant-a", 10000, 1000);
	b = enqueue(q, "cb", "u", "tenant-b", "only", 50000);
	CHECK_INT(queue_claim(q, "p1", 60000, LEASE, &r), STORE_OK);
	CHECK_STR(r.tenant_id, "tenant-a");
	CHECK_STR(r.request_id, "tenant-a-0");
	CHECK_INT(queue_claim(q, "p2", 60001, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, b);
	/* Then tenant-a's in order. */
	CHECK_INT(queue_claim(q, "p3", 60002, LEASE, &r), STORE_OK);
	CHECK_STR(r.request_id, "tenant-a-1");
	request_record_free(&r);
	free(b);
	teardown(s, q);

	/* One processor, one request at a time: the tenant served longest ago goes next. */
	setup(&s, &q);
	enqueue_many(s, q, "ca", "tenant-a", 10000, 1000);
	enqueue_many(s, q, "cc", "tenant-c", 3, 40000);
	b = enqueue(q, "cb", "u", "tenant-b", "only", 50000);
	{
		const char *want[] = { "tenant-a", "tenant-c", "tenant-b", "tenant-a", "tenant-c",
				       "tenant-a", "tenant-c", "tenant-a", "tenant-a" };

		for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
			int64_t now = 60000 + 10 * (int64_t)i;

			CHECK_INT(queue_claim(q, "p1", now, LEASE, &r), STORE_OK);
			CHECK_STR(r.tenant_id, want[i]);
			CHECK_INT(queue_finish(q, r.id, "p1", now + 1, QUEUE_COMPLETED, "1", NULL, NULL,
					       KEEP), STORE_OK);
		}
	}
	request_record_free(&r);
	free(b);
	teardown(s, q);
}

/* Requests not yet due (retry backoff) do not make their tenant win the claim. */
static void test_fair_claim_skips_tenants_not_due(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	char *a, *b;

	setup(&s, &q);
	a = enqueue(q, "ca", "u", "tenant-a", "x", 1000);
	b = enqueue(q, "cb", "u", "tenant-b", "y", 2000);
	CHECK_INT(queue_claim(q, "p1", 3000, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, a);
	CHECK_INT(queue_release(q, a, "p1", 3001, 9000), STORE_OK);
	/* a is back, but not due before 9000; b is. */
	CHECK_INT(queue_claim(q, "p1", 4000, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, b);
	CHECK_INT(queue_claim(q, "p1", 5000, LEASE, &r), STORE_NOTFOUND);
	CHECK_INT(queue_claim(q, "p1", 9000, LEASE, &r), STORE_OK);
	CHECK_STR(r.id, a);
	request_record_free(&r);
	free(a);
	free(b);
	teardown(s, q);
}

/* The quota counts: live requests of a connection, pending of a tenant, each capped at its limit. */
static void test_quota_counts(void)
{
	struct store *s;
	struct queue *q;
	struct request_record r = { 0 };
	int64_t n;

	setup(&s, &q);
	enqueue_many(s, q, "c1", "t1", 5, 1000);
	enqueue_many(s, q, "c2", "t2", 3, 1000);
	free(enqueue(q, "c3", "u", "t1", "z", 1000));
	CHECK_INT(queue_count_live(q, "c1", 100, &n), STORE_OK);
	CHECK_INT(n, 5);
	CHECK_INT(queue_count_live(q, "c1", 2, &n), STORE_OK);
	CHECK_INT(n, 2);
	CHECK_INT(queue_count_live(q, "nobody", 100, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(queue_count_tenant_pending(q, "t1", 100, &n), STORE_OK);
	CHECK_INT(n, 6);
	CHECK_INT(queue_count_tenant_pending(q, "t1", 4, &n), STORE_OK);
	CHECK_INT(n, 4);
	/* A running request is live for its connection but no longer pending for its tenant. */
	CHECK_INT(queue_claim(q, "p1", 2000, LEASE, &r), STORE_OK);
	CHECK_INT(queue_count_live(q, r.connection_id, 100, &n), STORE_OK);
	CHECK_INT(n, strcmp(r.connection_id, "c1") == 0 ? 5 : strcmp(r.connection_id, "c2") == 0 ? 3 : 1);
	CHECK_INT(queue_count_tenant_pending(q, r.tenant_id, 100, &n), STORE_OK);
	CHECK_INT(n, strcmp(r.tenant_id, "t1") == 0 ? 5 : 2);
	/* A finished one is neither. */
	CHECK_INT(queue_finish(q, r.id, "p1", 2001, QUEUE_COMPLETED, "1", NULL, NULL, KEEP), STORE_OK);
	CHECK_INT(queue_count_live(q, r.connection_id, 100, &n), STORE_OK);
	CHECK_INT(n, strcmp(r.connection_id, "c1") == 0 ? 4 : strcmp(r.connection_id, "c2") == 0 ? 2 : 0);
	request_record_free(&r);
	teardown(s, q);
}

TAP_MAIN(
	TAP_TEST(test_enqueue_and_read),
	TAP_TEST(test_duplicate_live_id_is_refused),
	TAP_TEST(test_claim_order_and_lease),
	TAP_TEST(test_renew_keeps_the_lease),
	TAP_TEST(test_progress_and_cancel_running),
	TAP_TEST(test_cancel_pending_and_by_connection),
	TAP_TEST(test_own_requests_only),
	TAP_TEST(test_release_and_gc),
	TAP_TEST(test_concurrent_claimers_run_each_once),
	TAP_TEST(test_claim_is_fair_across_tenants),
	TAP_TEST(test_fair_claim_skips_tenants_not_due),
	TAP_TEST(test_quota_counts),
	TAP_TEST(test_held_until_unhold),
)
