/* subs.c - store conformance, topic subscriptions and push-target lookups: limit, idempotence, cascade with the connection, tenant isolation, expiry, presence, patterns. */
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
	CHECK_INT(subs_add(u, "c1", "acme", "t0", 0, 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ADDED);
	CHECK_INT(subs_add(u, "c1", "acme", "t0", 0, 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ALREADY);
	for (int i = 1; i < 3; i++) {
		snprintf(topic, sizeof topic, "t%d", i);
		CHECK_INT(subs_add(u, "c1", "acme", topic, 0, 3, NOW, &res), STORE_OK);
		CHECK_INT(res, SUBS_ADDED);
	}
	CHECK_INT(subs_add(u, "c1", "acme", "t3", 0, 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_LIMIT);
	/* one already held is not refused at the limit */
	CHECK_INT(subs_add(u, "c1", "acme", "t2", 0, 3, NOW, &res), STORE_OK);
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
	CHECK_INT(subs_add(u, "c1", "acme", "t3", 0, 3, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ADDED);
	/* a connection that is not there, or of another tenant, gets nothing */
	CHECK_INT(subs_add(u, "nope", "acme", "t0", 0, 3, NOW, &res), STORE_NOTFOUND);
	CHECK_INT(subs_add(u, "c1", "globex", "t9", 0, 30, NOW, &res), STORE_NOTFOUND);
	teardown(s, u);
}

static void test_cascade(void)
{
	struct store *s;
	struct subs *u;
	enum subs_add_result res;

	setup(&s, &u);
	put(s, "c1", "alice", "acme", NOW + 60000);
	CHECK_INT(subs_add(u, "c1", "acme", "a", 0, 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "c1", "acme", "b", 0, 18, NOW, &res), STORE_OK);
	/* a new connection with the same id (the same user reconnecting: another
	 * user may not take a live id, issue 13) starts without the old one's topics */
	put(s, "c1", "alice", "acme", NOW + 60000);
	CHECK_INT(subs_remove(u, "c1", "b"), STORE_NOTFOUND);
	/* it holds none at all: a limit of 1 still lets the first topic in */
	CHECK_INT(subs_add(u, "c1", "acme", "a", 0, 1, NOW, &res), STORE_OK);
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
	CHECK_INT(subs_add(u, "a1", "acme", "news", 0, 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "a3", "acme", "news", 0, 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "b1", "acme", "news", 0, 18, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "g1", "globex", "news", 0, 18, NOW, &res), STORE_OK);

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

/* Collects "user=n" items in the order given into a comma-joined string; stops after stop_after (0 = never). */
struct users {
	char text[512];
	int n;
	int stop_after;
};

static int take_user(void *arg, const char *user, int64_t connections)
{
	struct users *l = arg;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof l->text - len, "%s%s=%lld", len ? "," : "", user,
		 (long long)connections);
	return ++l->n == l->stop_after;
}

/* Collects "topic" or "topic+" (presence) items in the order given; stops after stop_after (0 = never). */
static int take_topic(void *arg, const char *topic, int presence)
{
	struct users *l = arg;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof l->text - len, "%s%s%s", len ? "," : "", topic,
		 presence ? "+" : "");
	return ++l->n == l->stop_after;
}

static void add_ok(struct subs *u, const char *id, const char *tenant, const char *topic,
		   int presence, enum subs_add_result want)
{
	enum subs_add_result res;

	CHECK_INT(subs_add(u, id, tenant, topic, presence, 18, NOW, &res), STORE_OK);
	CHECK_INT(res, want);
}

/*
 * The topic's presence: live subscribers of exactly the topic, grouped by
 * user in user order, limited; the totals; one user's count; tenants apart.
 */
static void test_presence(void)
{
	struct store *s;
	struct subs *u;
	struct users l;
	int64_t users, conns, n;

	setup(&s, &u);
	put(s, "b1", "bob", "acme", NOW + 60000);
	put(s, "a1", "alice", "acme", NOW + 60000);
	put(s, "a2", "alice", "acme", NOW + 60000);
	put(s, "a3", "alice", "acme", NOW - 1);      /* expired */
	put(s, "d1", "dave", "acme", NOW);           /* expires at now: not live */
	put(s, "c1", "carol", "acme", NOW + 60000);
	put(s, "e1", "erin", "acme", NOW + 60000);
	put(s, "g1", "alice", "globex", NOW + 60000);
	add_ok(u, "b1", "acme", "news", 0, SUBS_ADDED);
	add_ok(u, "a1", "acme", "news", 1, SUBS_ADDED);
	add_ok(u, "a2", "acme", "news", 0, SUBS_ADDED);
	add_ok(u, "a3", "acme", "news", 0, SUBS_ADDED);
	add_ok(u, "d1", "acme", "news", 0, SUBS_ADDED);
	add_ok(u, "c1", "acme", "sports", 0, SUBS_ADDED);
	add_ok(u, "e1", "acme", "*", 0, SUBS_ADDED);   /* a pattern covering news: not counted */
	add_ok(u, "g1", "globex", "news", 0, SUBS_ADDED);

	memset(&l, 0, sizeof l);
	CHECK_INT(subs_presence(u, "acme", "news", NOW, 100, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "alice=2,bob=1");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_presence(u, "acme", "news", NOW, 1, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "alice=2");
	memset(&l, 0, sizeof l);
	l.stop_after = 1;
	CHECK_INT(subs_presence(u, "acme", "news", NOW, 100, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "alice=2");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_presence(u, "globex", "news", NOW, 100, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "alice=1");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_presence(u, "acme", "nothing", NOW, 100, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "");
	/* later, only the connections still live then */
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_presence(u, "acme", "news", NOW - 2, 100, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "alice=3,bob=1,dave=1");

	CHECK_INT(subs_presence_count(u, "acme", "news", NOW, &users, &conns), STORE_OK);
	CHECK_INT(users, 2);
	CHECK_INT(conns, 3);
	CHECK_INT(subs_presence_count(u, "globex", "news", NOW, &users, &conns), STORE_OK);
	CHECK_INT(users, 1);
	CHECK_INT(conns, 1);
	CHECK_INT(subs_presence_count(u, "acme", "nothing", NOW, &users, &conns), STORE_OK);
	CHECK_INT(users, 0);
	CHECK_INT(conns, 0);

	CHECK_INT(subs_user_topic_count(u, "acme", "news", "alice", NOW, &n), STORE_OK);
	CHECK_INT(n, 2);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "bob", NOW, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "carol", NOW, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "dave", NOW, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "nobody", NOW, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(subs_user_topic_count(u, "globex", "news", "alice", NOW, &n), STORE_OK);
	CHECK_INT(n, 1);

	/* after an unsubscribe and a disconnect: the counts of a leave event */
	CHECK_INT(subs_remove(u, "a2", "news"), STORE_OK);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "alice", NOW, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(store_conn_delete(s, "a1", NULL), STORE_OK);
	CHECK_INT(subs_user_topic_count(u, "acme", "news", "alice", NOW, &n), STORE_OK);
	CHECK_INT(n, 0);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_presence(u, "acme", "news", NOW, 100, take_user, &l), STORE_OK);
	CHECK_STR(l.text, "bob=1");
	teardown(s, u);
}

/*
 * The presence flag: set by the first subscribe, replaced by a second one
 * (also at the limit); what a connection holds, in topic order, whatever
 * its expiry; the live watchers of a topic.
 */
static void test_presence_flag(void)
{
	struct store *s;
	struct subs *u;
	enum subs_add_result res;
	struct users l;
	struct ids w;

	setup(&s, &u);
	put(s, "c1", "alice", "acme", NOW + 60000);
	put(s, "c2", "bob", "acme", NOW + 60000);
	put(s, "c3", "carol", "acme", NOW - 1);      /* expired */
	put(s, "g1", "dave", "globex", NOW + 60000);
	add_ok(u, "c1", "acme", "news", 1, SUBS_ADDED);
	add_ok(u, "c1", "acme", "alpha", 0, SUBS_ADDED);
	add_ok(u, "c2", "acme", "news", 0, SUBS_ADDED);
	add_ok(u, "c3", "acme", "news", 1, SUBS_ADDED);
	add_ok(u, "g1", "globex", "news", 1, SUBS_ADDED);

	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c1", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "alpha,news+");
	memset(&w, 0, sizeof w);
	CHECK_INT(subs_presence_watchers(u, "acme", "news", NOW, take, &w), STORE_OK);
	CHECK_STR(sorted(&w), "c1");
	memset(&w, 0, sizeof w);
	CHECK_INT(subs_presence_watchers(u, "globex", "news", NOW, take, &w), STORE_OK);
	CHECK_STR(sorted(&w), "g1");
	memset(&w, 0, sizeof w);
	CHECK_INT(subs_presence_watchers(u, "acme", "news", NOW - 2, take, &w), STORE_OK);
	CHECK_STR(sorted(&w), "c1,c3");

	/* a second subscribe turns it off, and on */
	add_ok(u, "c1", "acme", "news", 0, SUBS_ALREADY);
	add_ok(u, "c2", "acme", "news", 1, SUBS_ALREADY);
	memset(&w, 0, sizeof w);
	CHECK_INT(subs_presence_watchers(u, "acme", "news", NOW, take, &w), STORE_OK);
	CHECK_STR(sorted(&w), "c2");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c1", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "alpha,news");
	/* the same flag again changes nothing */
	add_ok(u, "c2", "acme", "news", 1, SUBS_ALREADY);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c2", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "news+");
	/* at the limit a held topic still takes the new flag */
	CHECK_INT(subs_add(u, "c1", "acme", "alpha", 1, 2, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_ALREADY);
	CHECK_INT(subs_add(u, "c1", "acme", "beta", 1, 2, NOW, &res), STORE_OK);
	CHECK_INT(res, SUBS_LIMIT);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c1", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "alpha+,news");

	/* an expired connection's topics are still listed (its leave events); fn stops the walk */
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c3", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "news+");
	memset(&l, 0, sizeof l);
	l.stop_after = 1;
	CHECK_INT(subs_connection_topics(u, "c1", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "alpha+");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "nope", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "");

	/* inside the disconnect's transaction: listed, then gone with the row */
	CHECK_INT(store_begin(s), STORE_OK);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c1", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "alpha+,news");
	CHECK_INT(store_conn_delete(s, "c1", NULL), STORE_OK);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_connection_topics(u, "c1", take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "");
	CHECK_INT(store_commit(s), STORE_OK);
	teardown(s, u);
}

/*
 * Pattern topics: stored as given, flagged when they end in '*'; a tenant's
 * distinct patterns with a live subscriber, in topic order.
 */
static void test_patterns(void)
{
	struct store *s;
	struct subs *u;
	struct users l;
	struct ids w;

	CHECK(subs_topic_is_pattern("*"));
	CHECK(subs_topic_is_pattern("prices.*"));
	CHECK(!subs_topic_is_pattern("prices"));
	CHECK(!subs_topic_is_pattern(""));
	CHECK(!subs_topic_is_pattern(NULL));

	setup(&s, &u);
	put(s, "c1", "alice", "acme", NOW + 60000);
	put(s, "c2", "bob", "acme", NOW + 60000);
	put(s, "c3", "carol", "acme", NOW - 1);      /* expired */
	put(s, "g1", "dave", "globex", NOW + 60000);

	/* none at all: nothing */
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "acme", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "");

	add_ok(u, "c1", "acme", "prices.*", 1, SUBS_ADDED); /* the flag is not reported */
	add_ok(u, "c2", "acme", "prices.*", 0, SUBS_ADDED);
	add_ok(u, "c2", "acme", "*", 0, SUBS_ADDED);
	add_ok(u, "c1", "acme", "news", 0, SUBS_ADDED);
	add_ok(u, "c3", "acme", "old.*", 0, SUBS_ADDED);
	add_ok(u, "g1", "globex", "sports.*", 0, SUBS_ADDED);

	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "acme", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "*,prices.*");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "acme", NOW - 2, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "*,old.*,prices.*");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "globex", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "sports.*");
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "initech", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "");
	memset(&l, 0, sizeof l);
	l.stop_after = 1;
	CHECK_INT(subs_patterns(u, "acme", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "*");

	/* a pattern's subscribers are found by its own text, as any topic's */
	memset(&w, 0, sizeof w);
	CHECK_INT(subs_topic_members(u, "acme", "prices.*", NOW, take, &w), STORE_OK);
	CHECK_STR(sorted(&w), "c1,c2");
	memset(&w, 0, sizeof w);
	CHECK_INT(subs_topic_members(u, "acme", "prices.eu", NOW, take, &w), STORE_OK);
	CHECK_STR(sorted(&w), "");

	/* the last live subscriber of a pattern gone: the pattern is gone */
	CHECK_INT(subs_remove(u, "c2", "*"), STORE_OK);
	CHECK_INT(subs_remove(u, "c1", "prices.*"), STORE_OK);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "acme", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "prices.*");
	CHECK_INT(store_conn_delete(s, "c2", NULL), STORE_OK);
	memset(&l, 0, sizeof l);
	CHECK_INT(subs_patterns(u, "acme", NOW, take_topic, &l), STORE_OK);
	CHECK_STR(l.text, "");
	teardown(s, u);
}

TAP_MAIN(
	TAP_TEST(test_topic_names),
	TAP_TEST(test_add_limit_remove),
	TAP_TEST(test_cascade),
	TAP_TEST(test_lookups),
	TAP_TEST(test_presence),
	TAP_TEST(test_presence_flag),
	TAP_TEST(test_patterns),
)
