/* ratelimit.c - per-connection token buckets in a shared mmap'ed table, updated under per-slot atomic locks (see ratelimit.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ratelimit.h"
#include "store.h"
#include "util.h"

#define MAGIC "STRRL001"
#define MICRO 1000000LL /* one token, in the micro-tokens a bucket counts */
/* A lock held this long is given up on: the message passes unlimited (never blocks a worker). */
#define LOCK_WAIT_US 20000

struct rl_slot {
	uint32_t lock;   /* 0 = free, else the pid of the holder */
	uint32_t pad;
	uint64_t key;    /* 64-bit hash of the connection id, 0 = never used */
	int64_t tokens;  /* micro-tokens at last_us */
	int64_t last_us; /* time_mono_us() of the last update */
};

struct rl_file {
	char magic[8];
	char pad[64 - 8];
	struct rl_slot slots[RATELIMIT_SLOTS];
};

struct ratelimit {
	struct rl_file *f;
};

/* This process's pid for lock words, refreshed in a forked child (no getpid() per message). */
static uint32_t my_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_refresh(void)
{
	my_pid = (uint32_t)getpid();
}

static void pid_init(void)
{
	pid_refresh();
	pthread_atfork(NULL, NULL, pid_refresh);
}

struct ratelimit *ratelimit_open(const char *path, char *err, size_t errlen)
{
	struct ratelimit *rl;
	struct stat st;
	void *p;
	int fd;

	pthread_once(&pid_once, pid_init);
	if (!path) {
		p = mmap(NULL, sizeof(struct rl_file), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			snprintf(err, errlen, "cannot map a private rate limit table: %s", strerror(errno));
			return NULL;
		}
		memcpy(((struct rl_file *)p)->magic, MAGIC, 8);
		rl = xcalloc(1, sizeof *rl);
		rl->f = p;
		return rl;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 ||
	    ((size_t)st.st_size < sizeof(struct rl_file) && ftruncate(fd, sizeof(struct rl_file)) < 0)) {
		snprintf(err, errlen, "cannot size %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	p = mmap(NULL, sizeof(struct rl_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return NULL;
	}
	rl = xcalloc(1, sizeof *rl);
	rl->f = p;
	if (rl->f->magic[0] == '\0') {
		memcpy(rl->f->magic, MAGIC, 8); /* every process writes the same bytes */
	} else if (memcmp(rl->f->magic, MAGIC, 8) != 0) {
		snprintf(err, errlen, "%s is not a rate limit file of this version: remove it", path);
		ratelimit_close(rl);
		return NULL;
	}
	return rl;
}

void ratelimit_close(struct ratelimit *rl)
{
	if (!rl)
		return;
	munmap(rl->f, sizeof(struct rl_file));
	free(rl);
}

char *ratelimit_default_path(const char *db_path)
{
	return xstrcat2(store_url_file(db_path), ".ratelimit");
}

static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

/*
 * Takes the lock of s. A holder that no longer exists (killed inside the
 * few instructions it holds it for) is replaced. Returns 0, or -1 when the
 * lock could not be had within LOCK_WAIT_US.
 */
static int slot_lock(struct rl_slot *s)
{
	int64_t deadline = 0;

	for (unsigned spin = 0;; spin++) {
		uint32_t holder = 0;

		if (__atomic_compare_exchange_n(&s->lock, &holder, my_pid, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
		if (spin < 200)
			continue;
		/* The holder may be preempted: give it the CPU, and check it is alive now and then. */
		sched_yield();
		if (spin % 64 == 0) {
			int64_t now = time_mono_us();

			if (!deadline)
				deadline = now + LOCK_WAIT_US;
			if (holder && kill((pid_t)holder, 0) < 0 && errno == ESRCH &&
			    __atomic_compare_exchange_n(&s->lock, &holder, my_pid, 0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return 0;
			if (now > deadline)
				return -1;
		}
	}
}

static void slot_unlock(struct rl_slot *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/* A bucket refilled to the burst by now (or dated in the future) is as good as a new one. */
static int slot_idle(const struct rl_slot *s, int64_t now_us, int64_t full_us)
{
	uint64_t key = __atomic_load_n(&s->key, __ATOMIC_RELAXED);
	int64_t last = __atomic_load_n(&s->last_us, __ATOMIC_RELAXED);

	return key == 0 || now_us < last || now_us - last >= full_us;
}

/* With s locked: refills the bucket of key in s, takes a token if there is one; see ratelimit_take. */
static int64_t bucket_take(struct rl_slot *s, uint64_t key, int64_t rate, int64_t cap,
			   int64_t full_us, int64_t now_us)
{
	int64_t tokens = s->tokens, last = s->last_us, wait_us;

	if (s->key != key || now_us < last || now_us - last >= full_us)
		tokens = cap;
	else if ((tokens += (now_us - last) * rate) > cap)
		tokens = cap;
	__atomic_store_n(&s->key, key, __ATOMIC_RELAXED);
	__atomic_store_n(&s->last_us, now_us, __ATOMIC_RELAXED);
	if (tokens >= MICRO) {
		s->tokens = tokens - MICRO;
		return 0;
	}
	s->tokens = tokens;
	wait_us = (MICRO - tokens + rate - 1) / rate;
	return wait_us >= 1000 ? (wait_us + 999) / 1000 : 1;
}

int64_t ratelimit_take(struct ratelimit *rl, const char *key, size_t len, int64_t rate,
		       int64_t burst, int64_t now_us)
{
	const uint32_t mask = RATELIMIT_SLOTS - 1;
	uint64_t h;
	uint32_t home;
	int64_t cap, full_us, ret;
	struct rl_slot *target = NULL, *lru = NULL, *homes;

	if (!rl || rate <= 0)
		return 0;
	if (burst < 1)
		burst = 1;
	h = fnv1a64(key, len);
	home = (uint32_t)h & mask;
	cap = burst * MICRO;
	full_us = cap / rate;

	/* The usual case: the bucket exists; only its own slot is locked. */
	for (uint32_t i = 0; i < RATELIMIT_PROBE; i++) {
		struct rl_slot *s = &rl->f->slots[(home + i) & mask];

		if (__atomic_load_n(&s->key, __ATOMIC_RELAXED) != h)
			continue;
		if (slot_lock(s) < 0)
			return 0;
		if (s->key == h) {
			ret = bucket_take(s, h, rate, cap, full_us, now_us);
			slot_unlock(s);
			return ret;
		}
		slot_unlock(s); /* taken over meanwhile: insert below */
		break;
	}

	/* A new bucket. The home slot's lock serialises inserts of this id, so it gets one slot. */
	homes = &rl->f->slots[home];
	if (slot_lock(homes) < 0)
		return 0;
	for (uint32_t i = 0; i < RATELIMIT_PROBE; i++) {
		struct rl_slot *s = &rl->f->slots[(home + i) & mask];

		if (__atomic_load_n(&s->key, __ATOMIC_RELAXED) == h) {
			target = s;
			break;
		}
		if (!target && slot_idle(s, now_us, full_us))
			target = s;
		if (!lru || __atomic_load_n(&s->last_us, __ATOMIC_RELAXED) <
				    __atomic_load_n(&lru->last_us, __ATOMIC_RELAXED))
			lru = s;
	}
	if (!target)
		target = lru; /* the table is full here: the approximation of ratelimit.h */
	if (target != homes && slot_lock(target) < 0) {
		slot_unlock(homes);
		return 0;
	}
	ret = bucket_take(target, h, rate, cap, full_us, now_us);
	if (target != homes)
		slot_unlock(target);
	slot_unlock(homes);
	return ret;
}
