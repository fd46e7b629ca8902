/* test_streams.c - streams.c on a real SQLite store: numbering, the since parser, who may read which stream, and recovery pages (epochs, trimming, addressing, paging, byte budget). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "store.h"
#include "streams.h"
#include "tap.h"
#include "tmpdir.h"

#define NOW 1700000000000LL

static char dir[TMPDIR_MAX];
static const struct history_limits LIM = { 1000, 300000 };

static struct store *open_store(void)
{
	char url[TMPDIR_MAX + 32], err[512] = "";
	struct store *s = NULL;

	tmpdir_make(dir, sizeof dir, "test_streams");
	snprintf(url, sizeof url, "sqlite:%s/store.db", dir);
	if (store_open(&s, url, NULL, STORE_OPEN_CREATE, err, sizeof err) != 0)
		printf("# %s\n", err);
	CHECK(s != NULL);
	return s;
}

static void close_store(struct store *s)
{
	store_close(s);
	CHECK(tmpdir_remove(dir) == 0);
}

/* Appends {"n": n} to stream for target; returns the offset it got. */
static int64_t add(struct store *s, const char *stream, const char *target, int n,
		   const struct history_limits *lim, int64_t now)
{
	json_t *m = json_pack("{s:s,s:i}", "type", "notice", "n", n);
	char why[300] = "";
	int64_t off;

	if (stream_number(s, lim, stream, target, m, now, NULL, why, sizeof why) != 0)
		printf("# %s\n", why);
	CHECK(json_is_integer(json_object_get(m, "offset")));
	CHECK_STR(json_string_value(json_object_get(m, "stream")), stream);
	off = json_integer_value(json_object_get(m, "offset"));
	json_decref(m);
	return off;
}

/* A page as compact JSON text, for whole-answer comparisons. */
static char *page(struct store *s, const char *stream, const struct stream_since *since,
		  int64_t limit, const struct stream_reader *r, size_t *budget, int64_t now)
{
	struct proto_error err = { 0 };
	size_t local = STREAM_ANSWER_BYTES;
	json_t *out = NULL;
	char *text;

	CHECK_INT(stream_page(s, &LIM, now, stream, since, limit, r, budget ? budget : &local, &out,
			      &err), 0);
	json_object_del(out, "epoch"); /* random */
	json_t *msgs = json_object_get(out, "messages"), *m;
	size_t i;
	json_t *ns = json_array();

	json_array_foreach(msgs, i, m)
		json_array_append_new(ns, json_copy(json_object_get(m, "n")));
	json_object_set_new(out, "messages", ns);
	text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	return text;
}

#define CHECK_PAGE(expr, expected) do { \
	char *t_ = (expr); \
	CHECK_STR(t_, expected); \
	free(t_); \
} while (0)

static const struct stream_reader ANYONE = { "c1", NULL, 0 };

static void test_numbering_keeps_the_message_and_adds_the_position(void)
{
	struct store *s = open_store();
	json_t *m = json_pack("{s:s,s:s,s:i,s:i}", "type", "event", "stream", "forged", "offset", 99, "x", 1);
	char why[300] = "";
	char *text;

	CHECK_INT(add(s, "topic:acme:a", NULL, 1, &LIM, NOW), 1);
	char *pushed = NULL, *dumped;

	CHECK_INT(stream_number(s, &LIM, "topic:acme:a", NULL, m, NOW, &pushed, why, sizeof why), 0);
	/* The pushed text, made from the stored one, is exactly the numbered message's. */
	dumped = proto_dump(m);
	CHECK_STR(pushed, dumped);
	free(dumped);
	free(pushed);
	json_object_del(m, "epoch");
	text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	/* A stream field the caller put in is replaced, and the position comes last. */
	CHECK_STR(text, "{\"type\":\"event\",\"x\":1,\"stream\":\"topic:acme:a\",\"offset\":2}");
	free(text);
	json_decref(m);
	m = json_pack("[i]", 1);
	CHECK_INT(stream_number(s, &LIM, "topic:acme:a", NULL, m, NOW, &pushed, why, sizeof why), -1);
	CHECK(pushed == NULL);
	CHECK(strstr(why, "JSON object") != NULL);
	json_decref(m);
	close_store(s);
}

static void test_since_parser(void)
{
	struct proto_error err = { 0 };
	struct stream_since since;
	const char *bad[] = {
		"{\"since\":1}", "{\"since\":{\"offset\":1}}", "{\"since\":{\"epoch\":null}}",
		"{\"since\":{\"epoch\":\"ABCDEF0123456789\",\"offset\":1}}",
		"{\"since\":{\"epoch\":\"abc\",\"offset\":1}}",
		"{\"since\":{\"epoch\":null,\"offset\":-1}}", "{\"since\":{\"epoch\":null,\"offset\":1.5}}",
	};
	json_t *v = json_loads("{\"since\":{\"epoch\":\"0123456789abcdef\",\"offset\":7}}", 0, NULL);

	CHECK_INT(stream_since_parse(v, "since", &since, &err), 0);
	CHECK_INT(since.given, 1);
	CHECK_STR(since.epoch, "0123456789abcdef");
	CHECK_INT(since.offset, 7);
	json_decref(v);
	v = json_loads("{\"since\":{\"epoch\":null,\"offset\":0}}", 0, NULL);
	CHECK_INT(stream_since_parse(v, "since", &since, &err), 0);
	CHECK_STR(since.epoch, "");
	json_decref(v);
	v = json_object();
	CHECK_INT(stream_since_parse(v, "since", &since, &err), 0);
	CHECK_INT(since.given, 0);
	json_decref(v);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = json_loads(bad[i], 0, NULL);
		CHECK(v != NULL);
		CHECK_INT(stream_since_parse(v, "since", &since, &err), -1);
		CHECK_INT(err.code, ERR_VALIDATION);
		proto_error_clear(&err);
		json_decref(v);
	}
}

static void test_who_reads_what(void)
{
	struct conn_record c = { .id = (char *)"c1", .user_id = (char *)"alice", .tenant_id = (char *)"acme" };
	struct proto_error err = { 0 };
	const char *mine[] = { "user:acme:alice", "tenant:acme", "topic:acme:prices.eu", "topic:acme:a:b" };
	const char *theirs[] = { "user:acme:bob", "user:globex:alice", "tenant:globex", "tenant:acm",
				 "topic:globex:prices", "topic:acmex:prices", "user:acme:alice2" };
	const char *malformed[] = { "", "users:acme:alice", "topic:acme:bad topic", "nonsense" };

	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		CHECK_INT(stream_readable(&c, mine[i], &err), 0);
	for (size_t i = 0; i < sizeof theirs / sizeof theirs[0]; i++) {
		CHECK_INT(stream_readable(&c, theirs[i], &err), -1);
		CHECK_INT(err.code, ERR_FORBIDDEN);
		CHECK(strstr(err.message, theirs[i]) != NULL);
		proto_error_clear(&err);
	}
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		CHECK_INT(stream_readable(&c, malformed[i], &err), -1);
		CHECK_INT(err.code, ERR_VALIDATION);
		proto_error_clear(&err);
	}
}

static void test_pages(void)
{
	struct store *s = open_store();
	struct stream_since none = { 0 }, from0 = { 1, "", 0 }, from3 = { 1, "", 3 };
	struct stream_since beyond = { 1, "", 9 }, other = { 1, "0123456789abcdef", 2 };

	for (int i = 1; i <= 5; i++)
		add(s, "topic:acme:p", NULL, i, &LIM, NOW);
	CHECK_PAGE(page(s, "topic:acme:p", &from0, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[1,2,3,4,5],\"more\":false,\"offset\":5,\"recovered\":true,\"until\":5}");
	CHECK_PAGE(page(s, "topic:acme:p", &from3, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[4,5],\"more\":false,\"offset\":5,\"recovered\":true,\"until\":5}");
	CHECK_PAGE(page(s, "topic:acme:p", &from0, 2, &ANYONE, NULL, NOW),
		   "{\"messages\":[1,2],\"more\":true,\"offset\":5,\"recovered\":true,\"until\":2}");
	CHECK_PAGE(page(s, "topic:acme:p", &none, 2, &ANYONE, NULL, NOW),
		   "{\"messages\":[4,5],\"more\":false,\"offset\":5,\"until\":5}");
	CHECK_PAGE(page(s, "topic:acme:p", &none, 0, &ANYONE, NULL, NOW),
		   "{\"messages\":[],\"more\":false,\"offset\":5,\"until\":5}");
	/* An offset the epoch never reached, or another epoch: nothing, and recovered false. */
	CHECK_PAGE(page(s, "topic:acme:p", &beyond, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[],\"more\":false,\"offset\":5,\"recovered\":false,\"until\":5}");
	CHECK_PAGE(page(s, "topic:acme:p", &other, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[],\"more\":false,\"offset\":5,\"recovered\":false,\"until\":5}");
	/* Up to date: nothing to send, and that is a full recovery. */
	struct stream_since at5 = { 1, "", 5 };
	CHECK_PAGE(page(s, "topic:acme:p", &at5, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[],\"more\":false,\"offset\":5,\"recovered\":true,\"until\":5}");
	/* A stream nobody wrote: offset 0 is a recovery, anything else is not. */
	CHECK_PAGE(page(s, "topic:acme:none", &from0, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[],\"more\":false,\"offset\":0,\"recovered\":true,\"until\":0}");
	CHECK_PAGE(page(s, "topic:acme:none", &from3, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[],\"more\":false,\"offset\":0,\"recovered\":false,\"until\":0}");
	close_store(s);
}

static void test_trimmed_history_is_not_a_recovery(void)
{
	struct store *s = open_store();
	struct history_limits small = { 3, 300000 };
	struct stream_since from1 = { 1, "", 1 }, from4 = { 1, "", 4 };

	for (int i = 1; i <= 6; i++)
		add(s, "topic:acme:t", NULL, i, &small, NOW);
	CHECK_PAGE(page(s, "topic:acme:t", &from1, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[4,5,6],\"more\":false,\"offset\":6,\"recovered\":false,\"until\":6}");
	CHECK_PAGE(page(s, "topic:acme:t", &from4, 100, &ANYONE, NULL, NOW),
		   "{\"messages\":[5,6],\"more\":false,\"offset\":6,\"recovered\":true,\"until\":6}");
	/* Past the TTL everything counts as trimmed. */
	CHECK_PAGE(page(s, "topic:acme:t", &from4, 100, &ANYONE, NULL, NOW + LIM.ttl_ms + 1),
		   "{\"messages\":[],\"more\":false,\"offset\":6,\"recovered\":false,\"until\":6}");
	close_store(s);
}

static void test_direct_messages_go_to_their_connection_only(void)
{
	struct store *s = open_store();
	struct stream_since from0 = { 1, "", 0 };
	const char *earlier[] = { "c-old" };
	struct stream_reader me = { "c-new", earlier, 1 }, sibling = { "c-other", NULL, 0 };

	add(s, "user:acme:alice", "c-old", 1, &LIM, NOW);
	add(s, "user:acme:alice", NULL, 2, &LIM, NOW);
	add(s, "user:acme:alice", "c-other", 3, &LIM, NOW);
	add(s, "user:acme:alice", "c-new", 4, &LIM, NOW);
	CHECK_PAGE(page(s, "user:acme:alice", &from0, 100, &me, NULL, NOW),
		   "{\"messages\":[1,2,4],\"more\":false,\"offset\":4,\"recovered\":true,\"until\":4}");
	CHECK_PAGE(page(s, "user:acme:alice", &from0, 100, &sibling, NULL, NOW),
		   "{\"messages\":[2,3],\"more\":false,\"offset\":4,\"recovered\":true,\"until\":4}");
	/* A page cut by its limit covers what it walked, sent or not. */
	CHECK_PAGE(page(s, "user:acme:alice", &from0, 3, &sibling, NULL, NOW),
		   "{\"messages\":[2,3],\"more\":true,\"offset\":4,\"recovered\":true,\"until\":3}");
	close_store(s);
}

static void test_byte_budget_cuts_a_page_but_never_to_nothing(void)
{
	struct store *s = open_store();
	struct stream_since from0 = { 1, "", 0 };
	size_t budget = 60, tiny = 1;

	for (int i = 1; i <= 4; i++)
		add(s, "topic:acme:b", NULL, i, &LIM, NOW);
	/* Each stored message is {"type":"notice","n":i}: 23 bytes. */
	CHECK_PAGE(page(s, "topic:acme:b", &from0, 100, &ANYONE, &budget, NOW),
		   "{\"messages\":[1,2],\"more\":true,\"offset\":4,\"recovered\":true,\"until\":2}");
	CHECK_INT(budget, 60 - 2 * 23);
	CHECK_PAGE(page(s, "topic:acme:b", &from0, 100, &ANYONE, &tiny, NOW),
		   "{\"messages\":[1],\"more\":true,\"offset\":4,\"recovered\":true,\"until\":1}");
	CHECK_INT(tiny, 0);
	close_store(s);
}

static void test_positions_of_a_connection(void)
{
	struct store *s = open_store();
	struct conn_record c = { .id = (char *)"c1", .user_id = (char *)"alice", .tenant_id = (char *)"acme",
				 .connected_at = NOW, .last_active_at = NOW, .expires_at = NOW + 60000 };
	json_t *pos;
	char *text;

	CHECK_INT(store_conn_put(s, &c), STORE_OK);
	CHECK(stream_positions(s, &c, 0) == NULL);
	add(s, "tenant:acme", NULL, 1, &LIM, NOW - 10000);
	add(s, "user:acme:alice", "c1", 1, &LIM, NOW);
	add(s, "user:acme:bob", NULL, 1, &LIM, NOW);
	add(s, "topic:acme:x", NULL, 1, &LIM, NOW);
	pos = stream_positions(s, &c, NOW - 5000);
	CHECK(pos != NULL);
	json_object_del(json_object_get(pos, "user:acme:alice"), "epoch");
	text = json_dumps(pos, JSON_COMPACT | JSON_SORT_KEYS);
	/* Not the tenant stream (it moved before since), not bob's, not an unsubscribed topic. */
	CHECK_STR(text, "{\"user:acme:alice\":{\"offset\":1}}");
	free(text);
	json_decref(pos);
	close_store(s);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_numbering_keeps_the_message_and_adds_the_position),
		TAP_TEST(test_since_parser),
		TAP_TEST(test_who_reads_what),
		TAP_TEST(test_pages),
		TAP_TEST(test_trimmed_history_is_not_a_recovery),
		TAP_TEST(test_direct_messages_go_to_their_connection_only),
		TAP_TEST(test_byte_budget_cuts_a_page_but_never_to_nothing),
		TAP_TEST(test_positions_of_a_connection),
	};

	return tap_run(tests, sizeof tests / sizeof tests[0]);
}
