/* history.c - store conformance, numbered streams and their history: epochs, offsets, trims, reads, positions, gc, transactions, two processes appending at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history.h"
#include "store.h"
#include "conformance.h"
#include "subs.h"

#define NOW 1700000000000LL
#define HOUR 3600000LL

static const struct history_limits LIM = { .size = 1000, .ttl_ms = HOUR };

/* Appends text to stream at now, which must succeed; returns the offset given. */
static int64_t append(struct store *s, const char *stream, const char *target, const char *text,
		      int64_t now, const struct history_limits *lim, struct stream_pos *out)
{
	struct stream_pos pos;
	int rc = history_append(s, stream, target, text, now, lim ? lim : &LIM, &pos);

	if (rc != STORE_OK)
		printf("# append %s: %s\n", stream, store_errmsg(s));
	CHECK_INT(rc, STORE_OK);
	if (out)
		*out = pos;
	return pos.offset;
}

/* What a read returned, as "offset[:target]=text" joined by commas. */
struct got {
	char text[8192];
	int n;
	int64_t last;
	int stop_after;   /* stop the walk after this many (0 = never) */
};

static int take(void *arg, const struct history_entry *e)
{
	struct got *g = arg;
	size_t len = strlen(g->text);

	snprintf(g->text + len, sizeof g->text - len, "%s%lld%s%s=%s", len ? "," : "",
		 (long long)e->offset, e->target ? ":" : "", e->target ? e->target : "", e->text);
	CHECK(e->offset > g->last);
	g->last = e->offset;
	g->n++;
	return g->stop_after && g->n >= g->stop_after;
}

/* history_read that must not fail; returns its result code. */
static int read_all(struct store *s, const char *stream, int64_t after, int64_t limit, int64_t now,
		    int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest, struct got *g)
{
	int rc;

	memset(g, 0, sizeof *g);
	rc = history_read(s, stream, after, limit, now, ttl_ms, pos, oldest, take, g);
	if (rc == STORE_ERROR)
		printf("# read %s: %s\n", stream, store_errmsg(s));
	CHECK(rc != STORE_ERROR);
	return rc;
}

static int is_epoch(const char *e)
{
	if (strlen(e) != HISTORY_EPOCH_LEN)
		return 0;
	for (; *e; e++)
		if (!((*e >= '0' && *e <= '9') || (*e >= 'a' && *e <= 'f')))
			return 0;
	return 1;
}

/* The first append makes the epoch and offset 1; each next one +1; streams are independent. */
static void test_append_numbers(void)
{
	struct store *s;
	struct stream_pos p1, p2, p3, q;

	conf_setup();
	s = conf_open();
	CHECK_INT(history_position(s, "topic:acme:news", &q), STORE_NOTFOUND);
	CHECK_STR(q.epoch, "");
	CHECK_INT(q.offset, 0);
	CHECK_INT(q.updated_at, 0);

	CHECK_INT(append(s, "topic:acme:news", NULL, "{\"a\":1}", NOW, NULL, &p1), 1);
	CHECK(is_epoch(p1.epoch));
	CHECK_INT(p1.updated_at, NOW);
	CHECK_INT(append(s, "topic:acme:news", NULL, "{\"a\":2}", NOW + 5, NULL, &p2), 2);
	CHECK_STR(p2.epoch, p1.epoch);
	CHECK_INT(p2.updated_at, NOW + 5);
	CHECK_INT(append(s, "tenant:acme", NULL, "{\"b\":1}", NOW + 6, NULL, &p3), 1);
	CHECK(is_epoch(p3.epoch));
	CHECK(strcmp(p3.epoch, p1.epoch) != 0);
	CHECK_INT(append(s, "topic:acme:news", NULL, "{\"a\":3}", NOW + 7, NULL, NULL), 3);
	CHECK_INT(append(s, "tenant:acme", NULL, "{\"b\":2}", NOW + 8, NULL, NULL), 2);

	CHECK_INT(history_position(s, "topic:acme:news", &q), STORE_OK);
	CHECK_STR(q.epoch, p1.epoch);
	CHECK_INT(q.offset, 3);
	CHECK_INT(q.updated_at, NOW + 7);
	CHECK_INT(history_position(s, "tenant:acme", &q), STORE_OK);
	CHECK_STR(q.epoch, p3.epoch);
	CHECK_INT(q.offset, 2);
	/* A handle opened later sees the same streams. */
	{
		struct store *s2 = conf_open();

		CHECK_INT(history_position(s2, "topic:acme:news", &q), STORE_OK);
		CHECK_STR(q.epoch, p1.epoch);
		CHECK_INT(q.offset, 3);
		store_close(s2);
	}
	conf_teardown(s);
}

/* Reads: after, limit, ascending, target, oldest, the stop of the callback, limit 0. */
static void test_read(void)
{
	struct store *s;
	struct stream_pos pos;
	struct got g;
	int64_t oldest;

	conf_setup();
	s = conf_open();
	CHECK_INT(read_all(s, "user:acme:alice", 0, 10, NOW, HOUR, &pos, &oldest, &g), STORE_NOTFOUND);
	CHECK_STR(pos.epoch, "");
	CHECK_INT(pos.offset, 0);
	CHECK_INT(oldest, 0);
	CHECK_INT(g.n, 0);

	append(s, "user:acme:alice", NULL, "m1", NOW, NULL, NULL);
	append(s, "user:acme:alice", "conn-1", "m2", NOW + 1, NULL, NULL);
	append(s, "user:acme:alice", NULL, "m3", NOW + 2, NULL, NULL);
	append(s, "user:acme:alice", "conn-2", "m4", NOW + 3, NULL, NULL);
	append(s, "user:acme:bob", NULL, "other", NOW + 3, NULL, NULL);

	CHECK_INT(read_all(s, "user:acme:alice", 0, 100, NOW + 10, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "1=m1,2:conn-1=m2,3=m3,4:conn-2=m4");
	CHECK_INT(pos.offset, 4);
	CHECK(is_epoch(pos.epoch));
	CHECK_INT(pos.updated_at, NOW + 3);
	CHECK_INT(oldest, 1);

	CHECK_INT(read_all(s, "user:acme:alice", 1, 2, NOW + 10, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "2:conn-1=m2,3=m3");
	CHECK_INT(oldest, 1);
	CHECK_INT(read_all(s, "user:acme:alice", 4, 100, NOW + 10, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "");
	CHECK_INT(pos.offset, 4);
	/* limit 0: the position only. */
	CHECK_INT(read_all(s, "user:acme:alice", 0, 0, NOW + 10, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_INT(g.n, 0);
	CHECK_INT(pos.offset, 4);
	CHECK_INT(oldest, 1);
	CHECK_INT(read_all(s, "user:acme:alice", 0, -1, NOW + 10, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_INT(g.n, 0);
	/* The callback stops the walk. */
	memset(&g, 0, sizeof g);
	g.stop_after = 2;
	CHECK_INT(history_read(s, "user:acme:alice", 0, 100, NOW + 10, HOUR, &pos, &oldest, take, &g),
		  STORE_OK);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.text, "1=m1,2:conn-1=m2");
	/* The handle works on after a stopped walk. */
	CHECK_INT(append(s, "user:acme:alice", NULL, "m5", NOW + 11, NULL, NULL), 5);
	conf_teardown(s);
}

/* The size trim keeps the newest size messages; oldest follows. */
static void test_size_trim(void)
{
	struct store *s;
	struct history_limits lim = { .size = 3, .ttl_ms = HOUR };
	struct stream_pos pos;
	struct got g;
	int64_t oldest;
	char text[16];

	conf_setup();
	s = conf_open();
	for (int i = 1; i <= 7; i++) {
		snprintf(text, sizeof text, "m%d", i);
		CHECK_INT(append(s, "topic:acme:t", NULL, text, NOW + i, &lim, NULL), i);
	}
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, NOW + 10, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "5=m5,6=m6,7=m7");
	CHECK_INT(oldest, 5);
	CHECK_INT(pos.offset, 7);
	/* A smaller size trims at once at the next append. */
	lim.size = 1;
	CHECK_INT(append(s, "topic:acme:t", NULL, "m8", NOW + 11, &lim, NULL), 8);
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, NOW + 12, HOUR, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "8=m8");
	CHECK_INT(oldest, 8);
	conf_teardown(s);
}

/* The ttl trims at append, and a read skips what is older than its ttl at now. */
static void test_ttl(void)
{
	struct store *s;
	struct history_limits lim = { .size = 1000, .ttl_ms = 1000 };
	struct stream_pos pos;
	struct got g;
	int64_t oldest;

	conf_setup();
	s = conf_open();
	append(s, "topic:acme:t", NULL, "old1", NOW, &lim, NULL);
	append(s, "topic:acme:t", NULL, "old2", NOW + 100, &lim, NULL);
	append(s, "topic:acme:t", NULL, "mid", NOW + 600, &lim, NULL);
	/* At NOW + 1050 the first is older than the ttl: trimmed by this append. */
	CHECK_INT(append(s, "topic:acme:t", NULL, "new", NOW + 1050, &lim, NULL), 4);
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "2=old2,3=mid,4=new");
	CHECK_INT(oldest, 2);
	/* A read at NOW + 1500 with the same ttl skips 2 (older than NOW + 500). */
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, NOW + 1500, 1000, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "3=mid,4=new");
	CHECK_INT(oldest, 3);
	CHECK_INT(pos.offset, 4);
	/* Everything too old: nothing held, but the position stands. */
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, NOW + 10000, 1000, &pos, &oldest, &g), STORE_OK);
	CHECK_INT(g.n, 0);
	CHECK_INT(oldest, 0);
	CHECK_INT(pos.offset, 4);
	/* An append long after trims all the old ones: only itself is left. */
	CHECK_INT(append(s, "topic:acme:t", NULL, "later", NOW + 20000, &lim, NULL), 5);
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "5=later");
	CHECK_INT(oldest, 5);
	conf_teardown(s);
}

/* gc removes old messages and idle streams; the next append starts a new epoch at 1. */
static void test_gc(void)
{
	struct store *s;
	struct history_limits long_ttl = { .size = 1000, .ttl_ms = 100 * HOUR };
	struct stream_pos a, b, pos;
	struct got g;
	int64_t oldest, nm = -1, ns = -1;

	conf_setup();
	s = conf_open();
	append(s, "topic:acme:idle", NULL, "i1", NOW, NULL, NULL);
	append(s, "topic:acme:idle", NULL, "i2", NOW + 1, NULL, &a);
	append(s, "topic:acme:busy", NULL, "b1", NOW, NULL, NULL);
	/* Appended with a longer ttl than gc's: b1 stays until gc. */
	append(s, "topic:acme:busy", NULL, "b2", NOW + 50 * HOUR - 10, &long_ttl, &b);

	/* Nothing is old yet. */
	CHECK_INT(history_gc(s, NOW + 10, HOUR, 24 * HOUR, &nm, &ns), STORE_OK);
	CHECK_INT(nm, 0);
	CHECK_INT(ns, 0);
	/* Two days later: the messages older than an hour go (3), and the idle stream's row. */
	CHECK_INT(history_gc(s, NOW + 50 * HOUR, HOUR, 24 * HOUR, &nm, &ns), STORE_OK);
	CHECK_INT(nm, 3);
	CHECK_INT(ns, 1);
	CHECK_INT(history_gc(s, NOW + 50 * HOUR, HOUR, 24 * HOUR, NULL, NULL), STORE_OK);
	CHECK_INT(history_position(s, "topic:acme:idle", &pos), STORE_NOTFOUND);
	CHECK_INT(read_all(s, "topic:acme:busy", 0, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "2=b2");
	CHECK_STR(pos.epoch, b.epoch);
	CHECK_INT(pos.offset, 2);

	CHECK_INT(append(s, "topic:acme:idle", NULL, "n1", NOW + 50 * HOUR, NULL, &pos), 1);
	CHECK(is_epoch(pos.epoch));
	CHECK(strcmp(pos.epoch, a.epoch) != 0);
	CHECK_INT(read_all(s, "topic:acme:idle", 0, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "1=n1");
	conf_teardown(s);
}

/* Collects positions as "stream@offset" sorted, joined by commas. */
struct plist {
	char *v[16];
	int n;
	char text[1024];
};

static int take_pos(void *arg, const char *stream, const struct stream_pos *pos)
{
	struct plist *l = arg;
	char one[512];

	CHECK(is_epoch(pos->epoch));
	CHECK(l->n < 16);
	snprintf(one, sizeof one, "%s@%lld", stream, (long long)pos->offset);
	l->v[l->n++] = strdup(one);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *joined(struct plist *l)
{
	size_t len = 0;

	qsort(l->v, (size_t)l->n, sizeof l->v[0], cmp);
	l->text[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		snprintf(l->text + len, sizeof l->text - len, "%s%s", i ? "," : "", l->v[i]);
		len = strlen(l->text);
		free(l->v[i]);
	}
	l->n = 0;
	return l->text;
}

/* history_positions: the named streams that exist, the subscribed topics, since. */
static void test_positions(void)
{
	struct store *s;
	struct subs *u;
	struct conn_record c1 = rec("c1", "acme", NOW), c2 = rec("c2", "acme", NOW);
	const char *names[] = { "user:acme:user-1", "tenant:acme" };
	const char *four[] = { "user:acme:user-1", "tenant:acme", "topic:acme:news", "tenant:x" };
	const char *five[] = { "a", "b", "c", "d", "e" };
	enum subs_add_result res;
	struct plist l = { 0 };

	conf_setup();
	s = conf_open();
	u = subs_open(s);
	put_ok(s, &c1);
	put_ok(s, &c2);
	CHECK_INT(subs_add(u, "c1", "acme", "news", 0, 10, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "c1", "acme", "quiet", 0, 10, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "c1", "acme", "old", 0, 10, NOW, &res), STORE_OK);
	CHECK_INT(subs_add(u, "c2", "acme", "sports", 0, 10, NOW, &res), STORE_OK);

	/* Nothing exists yet. */
	CHECK_INT(history_positions(s, "c1", names, 2, "topic:acme:", 0, take_pos, &l), STORE_OK);
	CHECK_STR(joined(&l), "");

	append(s, "topic:acme:old", NULL, "o", NOW, NULL, NULL);
	append(s, "user:acme:user-1", "c1", "u1", NOW + 100, NULL, NULL);
	append(s, "user:acme:user-1", NULL, "u2", NOW + 101, NULL, NULL);
	append(s, "topic:acme:news", NULL, "n", NOW + 102, NULL, NULL);
	append(s, "topic:acme:sports", NULL, "s", NOW + 103, NULL, NULL);
	append(s, "topic:globex:news", NULL, "g", NOW + 104, NULL, NULL);
	append(s, "user:acme:user-2", NULL, "v", NOW + 105, NULL, NULL);

	CHECK_INT(history_positions(s, "c1", names, 2, "topic:acme:", 0, take_pos, &l), STORE_OK);
	CHECK_STR(joined(&l), "topic:acme:news@1,topic:acme:old@1,user:acme:user-1@2");
	/* since: only what was appended at or after it. */
	CHECK_INT(history_positions(s, "c1", names, 2, "topic:acme:", NOW + 101, take_pos, &l),
		  STORE_OK);
	CHECK_STR(joined(&l), "topic:acme:news@1,user:acme:user-1@2");
	CHECK_INT(history_positions(s, "c1", names, 2, "topic:acme:", NOW + 200, take_pos, &l),
		  STORE_OK);
	CHECK_STR(joined(&l), "");
	/* Another connection: its own topics. */
	CHECK_INT(history_positions(s, "c2", names, 2, "topic:acme:", 0, take_pos, &l), STORE_OK);
	CHECK_STR(joined(&l), "topic:acme:sports@1,user:acme:user-1@2");
	/* Names only (no connection), the maximum, and a name that is also a subscribed topic. */
	CHECK_INT(history_positions(s, NULL, names, 2, NULL, 0, take_pos, &l), STORE_OK);
	CHECK_STR(joined(&l), "user:acme:user-1@2");
	CHECK_INT(history_positions(s, "c1", four, HISTORY_POSITIONS_NAMES_MAX, "topic:acme:", 0,
				    take_pos, &l), STORE_OK);
	CHECK_STR(joined(&l), "topic:acme:news@1,topic:acme:old@1,user:acme:user-1@2");
	CHECK_INT(history_positions(s, "c1", five, 5, "topic:acme:", 0, take_pos, &l), STORE_ERROR);
	CHECK_INT(history_positions(s, "c1", NULL, 0, "topic:acme:", 0, take_pos, &l), STORE_OK);
	CHECK_STR(joined(&l), "topic:acme:news@1,topic:acme:old@1");
	subs_close(u);
	conf_teardown(s);
}

/* Inside the caller's transaction: committed with it, or gone without a trace when rolled back. */
static void test_in_transaction(void)
{
	struct store *s, *s2;
	struct stream_pos pos;
	struct conn_record c1 = rec("c1", "acme", NOW);
	struct got g;
	int64_t oldest;

	conf_setup();
	s = conf_open();
	append(s, "topic:acme:t", NULL, "m1", NOW, NULL, NULL);

	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(append(s, "topic:acme:t", NULL, "m2", NOW + 1, NULL, NULL), 2);
	CHECK_INT(append(s, "topic:acme:new", NULL, "x", NOW + 1, NULL, NULL), 1);
	put_ok(s, &c1);
	store_rollback(s);
	CHECK_INT(store_conn_get(s, "c1", NULL), STORE_NOTFOUND);
	CHECK_INT(history_position(s, "topic:acme:new", &pos), STORE_NOTFOUND);
	CHECK_INT(read_all(s, "topic:acme:t", 0, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "1=m1");
	CHECK_INT(pos.offset, 1);
	/* The offset was not consumed. */
	CHECK_INT(append(s, "topic:acme:t", NULL, "m2b", NOW + 2, NULL, NULL), 2);

	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(append(s, "topic:acme:t", NULL, "m3", NOW + 3, NULL, NULL), 3);
	/* Readable inside the transaction by its own handle. */
	CHECK_INT(read_all(s, "topic:acme:t", 2, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "3=m3");
	put_ok(s, &c1);
	CHECK_INT(store_commit(s), STORE_OK);
	s2 = conf_open();
	CHECK_INT(read_all(s2, "topic:acme:t", 0, 100, 0, 0, &pos, &oldest, &g), STORE_OK);
	CHECK_STR(g.text, "1=m1,2=m2b,3=m3");
	CHECK_INT(store_conn_get(s2, "c1", NULL), STORE_OK);
	store_close(s2);
	conf_teardown(s);
}

/* ---- two processes appending to one stream at once --------------------------------- */

#define PER_CHILD 5000

/* A child: its own handle, PER_CHILD appends of "<who>:<i>", half alone, half in a transaction with another call; starts at EOF on start_fd. */
static void child_appends(char who, int start_fd)
{
	struct history_limits lim = { .size = 2 * PER_CHILD, .ttl_ms = 24 * HOUR };
	struct store *s = conf_open();
	struct stream_pos pos;
	char text[32], c;

	/* Both start together: the parent closes the pipe once both are forked. */
	if (read(start_fd, &c, 1) != 0)
		_exit(9);

	for (int i = 0; i < PER_CHILD; i++) {
		int in_tx = i % 2;

		snprintf(text, sizeof text, "%c:%d", who, i);
		if (in_tx && store_begin(s) != STORE_OK)
			_exit(10);
		if (history_append(s, "topic:acme:race", NULL, text, NOW + i, &lim, &pos) != STORE_OK) {
			fprintf(stderr, "# child %c: %s\n", who, store_errmsg(s));
			_exit(11);
		}
		if (in_tx) {
			if (history_position(s, who == 'a' ? "user:acme:a" : "user:acme:b", &pos) ==
			    STORE_ERROR)
				_exit(12);
			if (store_commit(s) != STORE_OK) {
				fprintf(stderr, "# child %c commit: %s\n", who, store_errmsg(s));
				_exit(13);
			}
		}
	}
	store_close(s);
	_exit(0);
}

/* Checks each message of the whole read: offsets 1..2*PER_CHILD once each, each child's in its order. */
struct race {
	int64_t next_offset;
	int next[2];
	int bad;
	int switches;   /* how often the writer changed along the offsets (printed, not checked) */
	int last_who;
};

static int take_race(void *arg, const struct history_entry *e)
{
	struct race *r = arg;
	int i = -1;
	int who;

	if (e->offset != r->next_offset || (e->text[0] != 'a' && e->text[0] != 'b') ||
	    sscanf(e->text + 2, "%d", &i) != 1) {
		r->bad++;
		return 1;
	}
	who = e->text[0] - 'a';
	if (e->offset > 1 && who != r->last_who)
		r->switches++;
	r->last_who = who;
	if (i != r->next[who])
		r->bad++;
	r->next[who] = i + 1;
	r->next_offset++;
	return r->bad != 0;
}

static void test_two_processes(void)
{
	struct store *s;
	struct stream_pos pos;
	struct race r = { .next_offset = 1 };
	pid_t pid[2];
	int64_t oldest;
	int start[2];

	conf_setup();
	s = conf_open();   /* creates the database before the children race to open it */
	CHECK(pipe(start) == 0);
	fflush(stdout);
	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		CHECK(pid[k] >= 0);
		if (pid[k] == 0) {
			store_close(s);
			close(start[1]);
			child_appends((char)('a' + k), start[0]);
		}
	}
	close(start[0]);
	close(start[1]);
	for (int k = 0; k < 2; k++) {
		int status = -1;

		CHECK(waitpid(pid[k], &status, 0) == pid[k]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			printf("# child %d: status %d\n", k, status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_INT(history_read(s, "topic:acme:race", 0, 4 * PER_CHILD, 0, 0, &pos, &oldest,
			       take_race, &r), STORE_OK);
	printf("# the writer changed %d times along the offsets\n", r.switches);
	CHECK_INT(r.bad, 0);
	CHECK_INT(r.next_offset, 2 * PER_CHILD + 1);
	CHECK_INT(r.next[0], PER_CHILD);
	CHECK_INT(r.next[1], PER_CHILD);
	CHECK_INT(pos.offset, 2 * PER_CHILD);
	CHECK_INT(oldest, 1);
	conf_teardown(s);
}

TAP_MAIN(
	TAP_TEST(test_append_numbers),
	TAP_TEST(test_read),
	TAP_TEST(test_size_trim),
	TAP_TEST(test_ttl),
	TAP_TEST(test_gc),
	TAP_TEST(test_positions),
	TAP_TEST(test_in_transaction),
	TAP_TEST(test_two_processes),
)
