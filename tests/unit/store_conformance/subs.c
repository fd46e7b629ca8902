/* subs.c - store conformance, topic subscriptions and push-target lookups: limit, idempotence, cascade with the connection, tenant isolation, expiry. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "conformance.h"
#include "subs.h"

#define NOW 1700000000000LL

static void setup(struct store **s, struct subs **u)
{
	conf_setup();
	*s = conf_open();
	*u = subs_open(*s);
	CHECK(*u != NULL);
}

static void teardown(struct store *s, struct subs *u)
{
	subs_close(u);
	conf_teardown(s);
}

static void put(struct store *s, const char *id, const char *user, const char *tenant,
		int64_t expires)
{
	struct conn_record r = { 0 };

	r.id = (char *)id;
	r.user_id = (char *)user;
	r.tenant_id = (char *)tenant;
	r.connected_at = r.last_active_at = NOW - 1000;
	r.expires_at = expires;
	CHECK_INT(store_conn_put(s, &r), STORE_OK);
}

/* Collects ids into a sorted, comma-joined string. */
struct ids {
	char text[512];
	int n;
};

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int take(void *arg, const char *id)
{
	struct ids *l = arg;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof l->text - len, "%s%s", len ? "," : "", id);
	l->n++;
	return 0;
}

/* Sorts the comma-separated ids in place (the lookups promise no order). */
static const char *sorted(struct ids *l)
{
	char *parts[64], copy[512], *save = NULL;
	int n = 0;

	snprintf(copy, sizeof copy, "%s", l->text);
	for (char *t = strtok_r(copy, ",", &save); t && n < 64; t = strtok_r(NULL, ",", &save))
		parts[n++] = t;
	qsort(parts, (size_t)n, sizeof parts[0], cmp);
	l->text[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t len = strlen(l->text);

		snprintf(l->text + len, sizeof l->text - len, "%s%s", i ? "," : "", parts[i]);
	}
	return l->text;
}

static void test_topic_names(void)
{
	CHECK(subs_topic_valid("prices.eu"));
	CHECK(subs_topic_valid("a:b-c_d.e"));
	CHECK(!subs_topic_valid(""));
	CHECK(!subs_topic_valid("has space"));
	CHECK(!subs_topic_valid("ü"));
	CHECK(!subs_topic_valid(NULL));
	{
		char name[130];

		memset(name, 'x', 128);
		name[128] = '\0';
		CHECK(subs_topic_valid(name));
		name[128] = 'x';
		name[129] = '\0';
		CHECK(!subs_topic_valid(name));
	}
}

static void test_add_limit_remove(void)
{
	struct store *s;
	struct subs *u;
	enum subs_add_result res;
	char topic[16];

	setup(&s, &u);
	put(s, "c1", "alice", "acme", NOW + 60000);
	CHECK_INT(subs_add(u, "c1", "acme", "t0", 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ADDED);
	CHECK_INT(subs_add(u, "c1", "acme", "t0", 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ALREADY);
	for (int i = 1; i < 3; i++) {
		snprintf(topic, sizeof topic, "t%d", i);
		CHECK_INT(subs_add(u, "c1", "acme", topic, 3, NOW, &res), STORE_OK);
		CHECK_INT(res, SUBS_ADDED);
	}
	CHECK_INT(subs_add(u, "c1", "acme", "t3", 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_LIMIT);
	/* one already held is not refused at the limit */
	CHECK_INT(subs_add(u, "c1", "acme", "t2", 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ALREADY);
	/* c1 holds exactly t0, t1 and t2 */
	for (int i = 0; i < 4; i++) {
		struct ids l = { 0 };

		snprintf(topic, sizeof topic, "t%d", i);
		CHECK_INT(subs_topic_members(u, "acme", topic, NOW, take, &l), STORE_OK);
		CHECK_STR(l.text, i < 3 ? "c1" : "");
	}
	CHECK_INT(subs_remove(u, "c1", "t1"), STORE_OK);
	CHECK_INT(subs_remove(u, "c1", "t1"), STORE_NOTFOUND);
	CHECK_INT(subs_add(u, "c1", "acme", "t3", 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ADDED);
	/* a connection that is not there, or of another tenant, gets nothing */
	CHECK_INT(subs_add(u, "nope", "acme", "t0", 3, NOW, &res), STORE_NOTFOUND);
	CHECK_INT(subs_add(u, "c1", "globex", "t9", 30, NOW, &res), STORE_NOTFOUND);
	teardown(s, u);
}

static void test_cascade(void)
{
	struct store *s;
	struct subs *u;
	enum subs_add_result res;

	setup(&s, &u);
	put(s, "c1", "alice", "acme", NOW + 60000);
	CHECK_INT(subs_add(u, "c1", "acme", "a", 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "c1", "acme", "b", 18, NOW, &res), STORE_OK);
	/* a new connection with the same id (the same user reconnecting: another
	 * user may not take a live id, issue 13) starts without the old one's topics */
	put(s, "c1", "alice", "acme", NOW + 60000);
	CHECK_INT(subs_remove(u, "c1", "b"), STORE_NOTFOUND);
	/* it holds none at all: a limit of 1 still lets the first topic in */
	CHECK_INT(subs_add(u, "c1", "acme", "a", 1, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ADDED);
	/* a deleted connection's subscriptions go with it */
	CHECK_INT(store_conn_delete(s, "c1", NULL), STORE_OK);
	CHECK_INT(subs_remove(u, "c1", "a"), STORE_NOTFOUND);
	teardown(s, u);
}

static void test_lookups(void)
{
	struct store *s;
	struct subs *u;
	enum subs_add_result res;
	struct ids l;

	setup(&s, &u);
	put(s, "a1", "alice", "acme", NOW + 60000);
	put(s, "a2", "alice", "acme", NOW + 60000);
	put(s, "a3", "alice", "acme", NOW - 1); /* expired */
	put(s, "b1", "bob", "acme", NOW + 60000);
	put(s, "g1", "alice", "globex", NOW + 60000);
	CHECK_INT(subs_add(u, "a1", "acme", "news", 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "a3", "acme", "news", 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "b1", "acme", "news", 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "g1", "globex", "news", 18, NOW, &res), STORE_OK);

	memset(&l, 0, sizeof l);
	CHECK_INT(subs_user_connections(u, "acme", "alice", NOW, take, &l), STORE_OK);
	CHECK_STR(sorted(&l), "a1,a2");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_tenant_connections(u, "acme", NOW, take, &l), STORE_OK);
	CHECK_STR(sorted(&l), "a1,a2,b1");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_topic_members(u, "acme", "news", NOW, take, &l), STORE_OK);
	CHECK_STR(sorted(&l), "a1,b1");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_topic_members(u, "globex", "news", NOW, take, &l), STORE_OK);
	CHECK_STR(sorted(&l), "g1");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_expired_connections(u, NOW, 10, take, &l), STORE_OK);
	CHECK_STR(sorted(&l), "a3");
	teardown(s, u);
}

TAP_MAIN(
	TAP_TEST(test_topic_names),
	TAP_TEST(test_add_limit_remove),
	TAP_TEST(test_cascade),
	TAP_TEST(test_lookups),
)
