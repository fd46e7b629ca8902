/* ratelimit.c - per-connection token buckets in a shared mmap'ed table, updated under per-slot atomic locks (see ratelimit.h). */
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "shm.h"
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

struct ratelimit *ratelimit_open(const char *path, char *err, size_t errlen)
{
	struct rl_file *f = shm_map(path, sizeof(struct rl_file), MAGIC, "rate limit", err, errlen);
	struct ratelimit *rl;

	if (!f)
		return NULL;
	rl = xcalloc(1, sizeof *rl);
	rl->f = f;
	return rl;
}

void ratelimit_close(struct ratelimit *rl)
{
	if (!rl)
		return;
	shm_unmap(rl->f, sizeof(struct rl_file));
	free(rl);
}

char *ratelimit_default_path(const char *db_path, const char *host_dir)
{
	return store_host_file(db_path, host_dir, ".ratelimit");
}

/* Locks slot s (see shm_lock): a lock held too long lets the message pass unlimited. */
static int slot_lock(struct rl_slot *s)
{
	return shm_lock(&s->lock, LOCK_WAIT_US);
}

static void slot_unlock(struct rl_slot *s)
{
	shm_unlock(&s->lock);
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
	h = hash64(key, len);
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
