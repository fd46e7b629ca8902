/* metrics.c - host-wide Prometheus metrics in a shared mmap'ed file, updated with atomics (see metrics.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "store.h"
#include "util.h"

#define MAGIC "STRMET01"
#define KEY_MAX 232
#define SEP '\x1f' /* between family, labels and kind inside a key */

enum { SLOT_EMPTY = 0, SLOT_CLAIMED = 1, SLOT_READY = 2 };

struct slot {
	uint32_t state;
	uint32_t hash;
	int64_t value;
	char key[KEY_MAX + 8];
};

struct mfile {
	char magic[8];
	int64_t dropped;
	char pad[256 - 16];
	struct slot slots[METRICS_SLOTS];
};

static struct mfile *M;

/* Histogram bucket upper bounds in microseconds (the last, +Inf, is implied). */
static const int64_t bucket_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000, 300000000,
};
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

/* The families this build knows: help text and type for the exposition. */
static const struct family {
	const char *name, *type, *help;
} families[] = {
	{ "streamer_auth_failures_total", "counter", "Connects refused, by reason." },
	{ "streamer_connections_closed_total", "counter", "Connections removed, by how they ended." },
	{ "streamer_connections_opened_total", "counter", "Connections accepted." },
	{ "streamer_errors_total", "counter", "Error messages sent to clients, by code." },
	{ "streamer_event_duration_seconds", "histogram", "Time a worker spent on one event, by event." },
	{ "streamer_job_queue_wait_seconds", "histogram", "Time from acknowledgment to a processor starting the request." },
	{ "streamer_job_run_seconds", "histogram", "Time a processor ran a request, by action." },
	{ "streamer_jobs_total", "counter", "Async requests finished, by action and outcome." },
	{ "streamer_messages_total", "counter", "Client messages handled, by action and outcome." },
	{ "streamer_metrics_dropped_total", "counter", "Updates lost because the metrics file had no free series slot." },
	{ "streamer_push_circuit_open", "gauge", "Open circuit breakers for callback URLs (one per process and callback node)." },
	{ "streamer_push_duration_seconds", "histogram", "Time of one push through the callback URL, retries included." },
	{ "streamer_push_node_failures_total", "counter", "Push attempts a callback node did not take, by node (its position in STREAMER_CALLBACK_URL)." },
	{ "streamer_push_retries_total", "counter", "Push attempts after the first." },
	{ "streamer_pushes_total", "counter", "Pushes through the callback URL, by style and outcome." },
	{ "streamer_rate_limited_total", "counter", "Messages, requests and connects refused by a quota or rate limit, by limit." },
	{ "streamer_stream_recoveries_total", "counter", "Reads of a stream's history from a client's position, by whether all it missed was there." },
};

int metrics_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd;

	if (M)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 ||
	    ((size_t)st.st_size < sizeof(struct mfile) && ftruncate(fd, sizeof(struct mfile)) < 0)) {
		snprintf(err, errlen, "cannot size %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(struct mfile), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return -1;
	}
	M = p;
	if (M->magic[0] == '\0') {
		memcpy(M->magic, MAGIC, sizeof M->magic); /* every process writes the same bytes */
	} else if (memcmp(M->magic, MAGIC, sizeof M->magic) != 0) {
		snprintf(err, errlen, "%s is not a metrics file of this version: remove it", path);
		metrics_close();
		return -1;
	}
	return 0;
}

void metrics_close(void)
{
	if (M)
		munmap(M, sizeof(struct mfile));
	M = NULL;
}

char *metrics_default_path(const char *db_path, const char *host_dir)
{
	return store_host_file(db_path, host_dir, ".metrics");
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/*
 * Waits for another process to finish writing the key of slot s (a few
 * stores after its claim) and returns the slot's state. The writer may have
 * been preempted right after its claim, so after a short spin the CPU is
 * yielded to it; after 100 ms the writer is taken for dead and the state
 * returned is still SLOT_CLAIMED.
 */
static uint32_t wait_ready(struct slot *s)
{
	uint32_t st = SLOT_CLAIMED;
	int64_t deadline;

	for (int spin = 0; st == SLOT_CLAIMED && spin < 1000; spin++)
		st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	deadline = time_mono_us() + 100000;
	while (st == SLOT_CLAIMED && time_mono_us() <= deadline) {
		sched_yield();
		st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	}
	return st;
}

/* Adds n to the series with internal key k (length len), claiming a slot the first time. */
static void add_key(const char *k, size_t len, int64_t n)
{
	uint32_t h = fnv1a(k, len);

	for (uint32_t i = 0; i < METRICS_SLOTS; i++) {
		struct slot *s = &M->slots[(h + i) % METRICS_SLOTS];
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

		if (st == SLOT_EMPTY) {
			uint32_t expect = SLOT_EMPTY;

			if (__atomic_compare_exchange_n(&s->state, &expect, SLOT_CLAIMED, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				memcpy(s->key, k, len);
				s->key[len] = '\0';
				s->hash = h;
				__atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELEASE);
				__atomic_add_fetch(&s->value, n, __ATOMIC_RELAXED);
				return;
			}
			st = expect;
		}
		/*
		 * Another process is writing this slot's key. Never probe past it
		 * before it is known: its key may be ours, and a second slot for
		 * one series would be counted apart and exposed twice. A claim
		 * that never completes drops the update (counted) instead.
		 */
		if (st == SLOT_CLAIMED && (st = wait_ready(s)) == SLOT_CLAIMED)
			break;
		if (st == SLOT_READY && s->hash == h && strncmp(s->key, k, len) == 0 &&
		    s->key[len] == '\0') {
			__atomic_add_fetch(&s->value, n, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_add_fetch(&M->dropped, 1, __ATOMIC_RELAXED);
}

/* A series key being built: "family SEP labels SEP kind", without printf. */
struct key {
	char k[KEY_MAX + 1];
	size_t len;
	int too_long;
};

static void key_put(struct key *key, const char *s, size_t n)
{
	if (key->too_long || n > KEY_MAX - key->len) {
		key->too_long = 1;
		return;
	}
	memcpy(key->k + key->len, s, n);
	key->len += n;
}

static void key_puts(struct key *key, const char *s)
{
	key_put(key, s, strlen(s));
}

/* Starts key with "family SEP". */
static void key_start(struct key *key, const char *family)
{
	key->len = 0;
	key->too_long = 0;
	key_puts(key, family);
	key_put(key, (const char[]){ SEP }, 1);
}

/* Appends the label name="value" (a comma first unless it is the first label). */
static void key_label(struct key *key, const char *name, const char *value, int first)
{
	if (!first)
		key_put(key, ",", 1);
	key_puts(key, name);
	key_put(key, "=\"", 2);
	key_puts(key, value);
	key_put(key, "\"", 1);
}

/*
 * Adds n to the series of key (family and labels put) with kind appended;
 * the key is left as it was. Returns -1 (nothing added) for an over-long key.
 */
static int key_add(struct key *key, const char *kind, int64_t n)
{
	size_t base = key->len;
	int rc = 0;

	key_put(key, (const char[]){ SEP }, 1);
	key_puts(key, kind);
	if (key->too_long) {
		rc = -1;
	} else {
		key->k[key->len] = '\0';
		add_key(key->k, key->len, n);
	}
	key->len = base;
	return rc;
}

/* Counts an update lost to an over-long key. */
static void dropped(void)
{
	__atomic_add_fetch(&M->dropped, 1, __ATOMIC_RELAXED);
}

void metrics_add(const char *family, const char *labels, int64_t n)
{
	struct key key;

	if (!M)
		return;
	key_start(&key, family);
	key_puts(&key, labels ? labels : "");
	if (key_add(&key, "c", n) < 0)
		dropped();
}

void metrics_add_labels(const char *family, const char *name1, const char *value1,
			const char *name2, const char *value2, int64_t n)
{
	struct key key;

	if (!M)
		return;
	key_start(&key, family);
	key_label(&key, name1, value1, 1);
	if (name2)
		key_label(&key, name2, value2, 0);
	if (key_add(&key, "c", n) < 0)
		dropped();
}

/* Adds one observation of us to the histogram series of key (family and labels put). */
static void observe_key(struct key *key, int64_t us)
{
	char kind[4] = "b00";
	size_t b = 0;

	if (us < 0)
		us = 0;
	while (b < NBUCKETS && us > bucket_us[b])
		b++;
	/* "b%02zu"; b == NBUCKETS is +Inf */
	kind[1] = (char)('0' + b / 10);
	kind[2] = (char)('0' + b % 10);
	/* One lost observation counts once, as one update. */
	(void)key_add(key, kind, 1);
	(void)key_add(key, "s", us);
	if (key_add(key, "z", 1) < 0)
		dropped();
}

void metrics_observe(const char *family, const char *labels, int64_t us)
{
	struct key key;

	if (!M)
		return;
	key_start(&key, family);
	key_puts(&key, labels ? labels : "");
	observe_key(&key, us);
}

void metrics_observe_label(const char *family, const char *name, const char *value, int64_t us)
{
	struct key key;

	if (!M)
		return;
	key_start(&key, family);
	key_label(&key, name, value, 1);
	observe_key(&key, us);
}

/* A snapshot of one series for rendering. */
struct snap {
	char key[KEY_MAX + 8];
	int64_t value;
};

static int snap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap *)a)->key, ((const struct snap *)b)->key);
}

/* Copies every ready series, sorted by key; returns how many. Caller frees *out. */
static size_t snapshot(struct snap **out)
{
	struct snap *v = xcalloc(METRICS_SLOTS, sizeof *v);
	size_t n = 0;

	for (size_t i = 0; M && i < METRICS_SLOTS; i++) {
		struct slot *s = &M->slots[i];

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_READY)
			continue;
		memcpy(v[n].key, s->key, sizeof v[n].key);
		v[n].key[sizeof v[n].key - 1] = '\0';
		v[n].value = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
		n++;
	}
	qsort(v, n, sizeof *v, snap_cmp);
	*out = v;
	return n;
}

/* Splits a key into family, labels and kind (pointers into k, which is modified). */
static int split_key(char *k, char **family, char **labels, char **kind)
{
	char *a = strchr(k, SEP), *b;

	if (!a || !(b = strchr(a + 1, SEP)))
		return -1;
	*a = *b = '\0';
	*family = k;
	*labels = a + 1;
	*kind = b + 1;
	return 0;
}

static const struct family *family_find(const char *name)
{
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (strcmp(families[i].name, name) == 0)
			return &families[i];
	return NULL;
}

/* Appends name{labels[,extra]} value. */
static void series(struct buf *out, const char *name, const char *suffix, const char *labels,
		   const char *extra, const char *value)
{
	int l = labels && *labels, e = extra && *extra;

	buf_printf(out, "%s%s%s%s%s%s%s %s\n", name, suffix, l || e ? "{" : "", l ? labels : "",
		   l && e ? "," : "", e ? extra : "", l || e ? "}" : "", value);
}

void metrics_render(struct buf *out)
{
	struct snap *v;
	size_t n = snapshot(&v);
	const char *last_family = "";
	char lastbuf[KEY_MAX + 8] = "";

	for (size_t i = 0; i < n;) {
		char kbuf[KEY_MAX + 8], *family, *labels, *kind;
		const struct family *f;

		memcpy(kbuf, v[i].key, sizeof kbuf);
		if (split_key(kbuf, &family, &labels, &kind) < 0) {
			i++;
			continue;
		}
		f = family_find(family);
		if (strcmp(family, last_family) != 0) {
			buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", family,
				   f ? f->help : "streamer metric", family, f ? f->type : "untyped");
			snprintf(lastbuf, sizeof lastbuf, "%s", family);
			last_family = lastbuf;
		}
		if (kind[0] != 'b' && kind[0] != 's' && kind[0] != 'z') {
			char val[32];

			snprintf(val, sizeof val, "%lld", (long long)v[i].value);
			series(out, family, "", labels, NULL, val);
			i++;
			continue;
		}
		/* A histogram: its buckets, sum and count are adjacent (b.., s, z). */
		{
			int64_t per[NBUCKETS + 1] = { 0 }, sum = 0, count = 0, cum = 0;
			char val[48], le[32];
			size_t j = i;

			for (; j < n; j++) {
				char kb[KEY_MAX + 8], *f2, *l2, *k2;

				memcpy(kb, v[j].key, sizeof kb);
				if (split_key(kb, &f2, &l2, &k2) < 0)
					break;
				if (strcmp(f2, family) != 0 || strcmp(l2, labels) != 0)
					break;
				if (k2[0] == 'b') {
					unsigned idx = (unsigned)atoi(k2 + 1);

					if (idx <= NBUCKETS)
						per[idx] += v[j].value;
				} else if (k2[0] == 's') {
					sum = v[j].value;
				} else if (k2[0] == 'z') {
					count = v[j].value;
				}
			}
			for (size_t b = 0; b <= NBUCKETS; b++) {
				cum += per[b];
				if (b < NBUCKETS)
					snprintf(le, sizeof le, "le=\"%g\"", (double)bucket_us[b] / 1e6);
				else
					snprintf(le, sizeof le, "le=\"+Inf\"");
				snprintf(val, sizeof val, "%lld", (long long)cum);
				series(out, family, "_bucket", labels, le, val);
			}
			snprintf(val, sizeof val, "%.6f", (double)sum / 1e6);
			series(out, family, "_sum", labels, NULL, val);
			snprintf(val, sizeof val, "%lld", (long long)count);
			series(out, family, "_count", labels, NULL, val);
			i = j;
		}
	}
	if (M) {
		if (strcmp(last_family, "streamer_metrics_dropped_total") != 0)
			buf_printf(out, "# HELP streamer_metrics_dropped_total %s\n"
				   "# TYPE streamer_metrics_dropped_total counter\n",
				   family_find("streamer_metrics_dropped_total")->help);
		buf_printf(out, "streamer_metrics_dropped_total %lld\n",
			   (long long)__atomic_load_n(&M->dropped, __ATOMIC_RELAXED));
	}
	free(v);
}

void metrics_foreach(void (*fn)(const char *series, int64_t value, void *ctx), void *ctx)
{
	struct snap *v;
	size_t n = snapshot(&v);

	for (size_t i = 0; i < n; i++) {
		char *family, *labels, *kind, name[KEY_MAX * 2];

		if (split_key(v[i].key, &family, &labels, &kind) < 0)
			continue;
		snprintf(name, sizeof name, "%s%s%s%s%s%s", family,
			 kind[0] == 's' ? "_sum_us" : kind[0] == 'z' ? "_count" : "",
			 *labels || kind[0] == 'b' ? "{" : "", labels,
			 kind[0] == 'b' ? (*labels ? ",bucket=" : "bucket=") : "",
			 kind[0] == 'b' ? kind + 1 : "");
		if (*labels || kind[0] == 'b')
			strncat(name, "}", sizeof name - strlen(name) - 1);
		fn(name, v[i].value, ctx);
	}
	free(v);
}
