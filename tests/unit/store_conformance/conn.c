/* conn.c - store conformance, connections: put/get, conflicts, touch, keep-alive, token expiry, topic claims, counters, delete, quota count, listing, transactions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "store.h"
#include "util.h"

static void test_put_get_round_trip(void)
{
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

	conf_setup();
	s = conf_open();
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
	CHECK(store_errmsg(s)[0] != '\0');
	if (conf_default_sqlite()) {
		CHECK(strstr(store_errmsg(s), conf_dir) != NULL);
		CHECK(strstr(store_errmsg(s), "NOT NULL") != NULL);
	}
	CHECK_INT(store_conn_get(s, "c3", NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_get(s, "c2", NULL), STORE_OK);
	conf_teardown(s);
}


/*
 * Issue 13: a live id of another user, tenant or dialect is never taken over
 * (that rebound a victim's WebSocket to an attacker); the same identity may
 * reconnect with its id.
 */
static void test_put_refuses_a_live_row_of_another(void)
{
	struct store *s;
	struct conn_record a = rec("c1", "t1", 100), other = rec("c1", "t1", 200), got = { 0 };
	char *hash = NULL;

	conf_setup();
	s = conf_open();
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
	conf_teardown(s);
}


/* Touches c at now with expiry now + ttl; active: a message (last_active_at = now). */
static int touch(struct store *s, const char *id, int64_t now, int64_t ttl, int active,
		 int64_t received, int64_t sent)
{
	struct conn_touch t = { .now = now, .expires_at = now + ttl, .active_at = active ? now : 0,
				.received = received, .sent = sent };

	return store_conn_touch(s, id, &t);
}

static void test_touch_live_row(void)
{
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	conf_setup();
	s = conf_open();
	put_ok(s, &r); /* expires at 1000 + TTL */

	CHECK_INT(touch(s, "c1", 2000, TTL, 1, 3, 4), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_STR(got.id, "c1");
	CHECK_STR(got.user_id, "user-1");
	CHECK_STR(got.permissions, "[\"read\",\"write\"]");
	CHECK_INT(got.connected_at, 1000);
	CHECK_INT(got.last_active_at, 2000);
	CHECK_INT(got.expires_at, 2000 + TTL);
	CHECK_INT(got.messages_received, 3);
	CHECK_INT(got.messages_sent, 4);
	conn_record_free(&got);

	/* Counts add up; a touch carrying older times moves nothing back. */
	CHECK_INT(touch(s, "c1", 3000, TTL, 1, 1, 0), STORE_OK);
	CHECK_INT(touch(s, "c1", 2500, TTL, 1, 0, 2), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.last_active_at, 3000);
	CHECK_INT(got.expires_at, 3000 + TTL);
	CHECK_INT(got.messages_received, 4);
	CHECK_INT(got.messages_sent, 6);
	conn_record_free(&got);
	conf_teardown(s);
}


static void test_touch_expired_row_is_left_alone(void)
{
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	conf_setup();
	s = conf_open();
	put_ok(s, &r);
	/* expires_at == now is already expired. */
	CHECK_INT(touch(s, "c1", 1000 + TTL, TTL, 1, 1, 1), STORE_NOTFOUND);
	CHECK_INT(touch(s, "c1", 1000 + 2 * TTL, TTL, 0, 0, 0), STORE_NOTFOUND);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	check_same(&got, &r);
	conn_record_free(&got);
	CHECK_INT(touch(s, "unknown", 1000, TTL, 1, 1, 1), STORE_NOTFOUND);
	conf_teardown(s);
}


/* A keep-alive's touch: no activity, and a shorter expiry never pulls the stored one back. */
static void test_touch_without_activity(void)
{
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	conf_setup();
	s = conf_open();
	put_ok(s, &r);
	CHECK_INT(touch(s, "c1", 5000, TTL, 0, 0, 0), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 5000 + TTL);
	CHECK_INT(got.last_active_at, 1000);   /* a keep-alive is not activity */
	CHECK_INT(got.messages_received, 0);
	conn_record_free(&got);

	CHECK_INT(touch(s, "c1", 6000, 10, 0, 0, 0), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 5000 + TTL);
	conn_record_free(&got);
	conf_teardown(s);
}


/* The token's expiry caps the sliding TTL on put and touch; refresh moves the cap. */
static void test_token_expiry_caps_expiry(void)
{
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	conf_setup();
	s = conf_open();
	r.token_expires_at = 9000;
	put_ok(s, &r);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 9000);       /* connected_at + TTL would be later */
	CHECK_INT(got.token_expires_at, 9000);
	conn_record_free(&got);

	CHECK_INT(touch(s, "c1", 2000, TTL, 1, 1, 1), STORE_OK);
	CHECK_INT(touch(s, "c1", 3000, TTL, 0, 0, 0), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 9000);
	CHECK_INT(got.last_active_at, 2000);
	conn_record_free(&got);
	/* At the token's expiry the row is no longer live. */
	CHECK_INT(touch(s, "c1", 9000, TTL, 1, 1, 1), STORE_NOTFOUND);

	/* Refresh: live rows only; new permissions and cap; the sliding TTL applies below the cap. */
	CHECK_INT(store_conn_refresh(s, "c1", "[\"a\"]", NULL, 50000, 9000, TTL, NULL), STORE_NOTFOUND);
	CHECK_INT(store_conn_refresh(s, "c1", "[\"a\"]", NULL, 50000, 8000, 100, &got), STORE_OK);
	CHECK_STR(got.permissions, "[\"a\"]");
	CHECK_INT(got.token_expires_at, 50000);
	CHECK_INT(got.expires_at, 8100);
	conn_record_free(&got);
	CHECK_INT(store_conn_refresh(s, "c1", "[]", NULL, 50000, 8050, TTL, &got), STORE_OK);
	CHECK_INT(got.expires_at, 50000);
	conn_record_free(&got);
	CHECK_INT(touch(s, "c1", 20000, TTL, 1, 0, 0), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_INT(got.expires_at, 50000);
	conn_record_free(&got);
	CHECK_INT(store_conn_refresh(s, "unknown", "[]", NULL, 50000, 1000, TTL, NULL), STORE_NOTFOUND);

	/* No token limit (0): the sliding TTL alone, as before version 6. */
	r = rec("c2", "t1", 1000);
	put_ok(s, &r);
	CHECK_INT(touch(s, "c2", 2000, TTL, 1, 0, 0), STORE_OK);
	CHECK_INT(store_conn_get(s, "c2", &got), STORE_OK);
	CHECK_INT(got.expires_at, 2000 + TTL);
	CHECK_INT(got.token_expires_at, 0);
	conn_record_free(&got);
	conf_teardown(s);
}


/* store_conn_load: the row as store_conn_get reads it, with its strings in one reused arena. */
static void test_load(void)
{
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 }, ref = { 0 };
	struct buf arena = { 0 };
	char *first;

	conf_setup();
	s = conf_open();
	put_ok(s, &r);
	r = rec("c2", "t2", 2000);
	r.user_agent = "agent/1.0";
	r.source_addr = "192.0.2.1";
	r.token_expires_at = 90000;
	put_ok(s, &r);

	CHECK_INT(store_conn_load(s, "c1", &got, &arena), STORE_OK);
	CHECK_INT(store_conn_get(s, "c1", &ref), STORE_OK);
	check_same(&got, &ref);
	CHECK(got.user_agent == NULL);
	conn_record_free(&ref);
	first = arena.data;

	CHECK_INT(store_conn_load(s, "c2", &got, &arena), STORE_OK);
	CHECK_INT(store_conn_get(s, "c2", &ref), STORE_OK);
	check_same(&got, &ref);
	CHECK_STR(got.user_agent, "agent/1.0");
	CHECK_STR(got.source_addr, "192.0.2.1");
	CHECK_INT(got.token_expires_at, 90000);
	conn_record_free(&ref);
	CHECK(got.id >= arena.data && got.id < arena.data + arena.len);
	/* The second row fits where the first was: the arena was reused, not grown. */
	CHECK(arena.data == first);

	CHECK_INT(store_conn_load(s, "unknown", &got, &arena), STORE_NOTFOUND);
	CHECK(got.id == NULL);
	buf_free(&arena);
	conf_teardown(s);
}


/* Walks store_conn_list: the topic_claims of connection "c1" into the struct claims arg. */
struct claims {
	int seen;
	char text[256];
	int is_null;
};

static int claims_of_c1(const struct conn_record *r, void *ctx)
{
	struct claims *c = ctx;

	if (strcmp(r->id, "c1") != 0)
		return 0;
	c->seen++;
	c->is_null = r->topic_claims == NULL;
	snprintf(c->text, sizeof c->text, "%s", r->topic_claims ? r->topic_claims : "");
	return 0;
}

/*
 * topic_claims (opaque JSON text, may be NULL) goes through every function
 * that writes or reads a row: put, get, load, list, refresh (which replaces
 * it, NULL included) and delete's copy of the row.
 */
static void test_topic_claims(void)
{
	static const char claims[] = "{\"topics\":[\"news\",\"prices.*\"],"
				     "\"publish_topics\":[\"*\"]}";
	static const char other[] = "{\"topics\":[\"sports\"],\"publish_topics\":[]}";
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };
	struct buf arena = { 0 };
	struct claims seen = { 0 };

	conf_setup();
	s = conf_open();
	r.topic_claims = (char *)claims;
	put_ok(s, &r);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_STR(got.topic_claims, claims);
	check_same(&got, &r);
	conn_record_free(&got);
	CHECK(got.topic_claims == NULL);

	CHECK_INT(store_conn_load(s, "c1", &got, &arena), STORE_OK);
	CHECK_STR(got.topic_claims, claims);
	CHECK(got.topic_claims >= arena.data && got.topic_claims < arena.data + arena.len);
	CHECK_STR(got.permissions, "[\"read\",\"write\"]"); /* the other strings intact */
	CHECK_STR(got.source_addr, "127.0.0.1");

	CHECK_INT(store_conn_list(s, NULL, claims_of_c1, &seen), STORE_OK);
	CHECK_INT(seen.seen, 1);
	CHECK_STR(seen.text, claims);
	memset(&seen, 0, sizeof seen);
	CHECK_INT(store_conn_list(s, "t1", claims_of_c1, &seen), STORE_OK);
	CHECK_INT(seen.seen, 1);
	CHECK_STR(seen.text, claims);

	/* refresh replaces them: with other claims, then with none */
	CHECK_INT(store_conn_refresh(s, "c1", "[]", other, 50000, 2000, TTL, &got), STORE_OK);
	CHECK_STR(got.topic_claims, other);
	conn_record_free(&got);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK_STR(got.topic_claims, other);
	conn_record_free(&got);
	CHECK_INT(store_conn_refresh(s, "c1", "[]", NULL, 50000, 2000, TTL, &got), STORE_OK);
	CHECK(got.topic_claims == NULL);
	conn_record_free(&got);
	CHECK_INT(store_conn_load(s, "c1", &got, &arena), STORE_OK);
	CHECK(got.topic_claims == NULL);
	memset(&seen, 0, sizeof seen);
	CHECK_INT(store_conn_list(s, NULL, claims_of_c1, &seen), STORE_OK);
	CHECK(seen.is_null);
	CHECK_INT(store_conn_refresh(s, "c1", "[]", claims, 50000, 2000, TTL, NULL), STORE_OK);

	/* a put over the same id replaces them too (a reconnect's new token) */
	r.topic_claims = NULL;
	r.connected_at = r.last_active_at = 3000;
	put_ok(s, &r);
	CHECK_INT(store_conn_get(s, "c1", &got), STORE_OK);
	CHECK(got.topic_claims == NULL);
	conn_record_free(&got);
	r.topic_claims = (char *)other;
	put_ok(s, &r);

	/* delete hands back the row as it was */
	CHECK_INT(store_conn_delete(s, "c1", &got), STORE_OK);
	CHECK_STR(got.topic_claims, other);
	conn_record_free(&got);
	/* a row without claims reads NULL everywhere */
	r = rec("c2", "t1", 1000);
	put_ok(s, &r);
	CHECK_INT(store_conn_delete(s, "c2", &got), STORE_OK);
	CHECK(got.topic_claims == NULL);
	conn_record_free(&got);
	buf_free(&arena);
	conf_teardown(s);
}

/* A read snapshot neither waits for a writer nor sees what it commits meanwhile. */
static void test_begin_read(void)
{
	struct store *s, *w;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };
	struct buf arena = { 0 };

	conf_setup();
	s = conf_open();
	w = conf_open();
	put_ok(s, &r);
	CHECK_INT(store_begin(w), STORE_OK);   /* w holds the write lock */
	CHECK_INT(store_begin_read(s), STORE_OK);
	CHECK_INT(store_conn_load(s, "c1", &got, &arena), STORE_OK);
	CHECK_INT(got.messages_received, 0);
	CHECK_INT(touch(w, "c1", 2000, TTL, 1, 5, 0), STORE_OK);
	CHECK_INT(store_commit(w), STORE_OK);
	CHECK_INT(store_conn_load(s, "c1", &got, &arena), STORE_OK);
	CHECK_INT(got.messages_received, 0);   /* still the snapshot */
	store_rollback(s);
	CHECK_INT(store_conn_load(s, "c1", &got, &arena), STORE_OK);
	CHECK_INT(got.messages_received, 5);
	buf_free(&arena);
	store_close(w);
	conf_teardown(s);
}


static void test_delete(void)
{
	struct store *s;
	struct conn_record r = rec("c1", "t1", 1000), got = { 0 };

	conf_setup();
	s = conf_open();
	put_ok(s, &r);
	CHECK_INT(touch(s, "c1", 1500, TTL, 1, 1, 0), STORE_OK);
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
	conf_teardown(s);
}


/* The ids store_conn_list gave, in order; the walk stops after stop_after rows. */
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
	struct store *s;
	int64_t n;
	char id[32];

	conf_setup();
	s = conf_open();
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
	conf_teardown(s);
}


static void test_list(void)
{
	struct store *s;
	struct collect c = { 0 };
	struct conn_record rows[] = {
		rec("a", "t1", 300), rec("b", "t2", 100), rec("c", "t1", 200),
		rec("d", "t2", 400), rec("e", "t1", 50),
	};

	conf_setup();
	s = conf_open();
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
	conf_teardown(s);
}


static void test_transactions(void)
{
	struct store *s;
	struct conn_record a = rec("a", "t1", 1), b = rec("b", "t1", 2);

	conf_setup();
	s = conf_open();
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
	conf_teardown(s);
}

TAP_MAIN(
	TAP_TEST(test_put_get_round_trip),
	TAP_TEST(test_put_refuses_a_live_row_of_another),
	TAP_TEST(test_touch_live_row),
	TAP_TEST(test_touch_expired_row_is_left_alone),
	TAP_TEST(test_touch_without_activity),
	TAP_TEST(test_token_expiry_caps_expiry),
	TAP_TEST(test_load),
	TAP_TEST(test_topic_claims),
	TAP_TEST(test_begin_read),
	TAP_TEST(test_delete),
	TAP_TEST(test_count_user),
	TAP_TEST(test_list),
	TAP_TEST(test_transactions)
)
