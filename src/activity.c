/* activity.c - the host's pending per-connection counts in a shared mmap'ed table, under per-slot locks (see activity.h). */
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "shm.h"
#include "store.h"
#include "util.h"

#define MAGIC "STRAC001"
/* A lock held this long is given up on: the caller writes its counts itself. */
#define LOCK_WAIT_US 20000

struct act_slot {
	uint32_t lock;    /* 0 = free, else the pid of the holder (shm_lock) */
	uint32_t id_len;
	uint64_t key;     /* hash64 of the id, 0 = never used */
	int64_t received; /* pending counts */
	int64_t sent;
	int64_t last_ms;  /* time_now_ms() of the last add */
	char id[ACTIVITY_ID_MAX];
	char pad[192 - 40 - ACTIVITY_ID_MAX];
};

struct act_file {
	char magic[8];
	char pad[64 - 8];
	struct act_slot slots[ACTIVITY_SLOTS];
};

struct activity {
	struct act_file *f;
};

_Static_assert(sizeof(struct act_slot) == 192, "three cache lines per slot");

struct activity *activity_open(const char *path, char *err, size_t errlen)
{
	struct act_file *f = shm_map(path, sizeof(struct act_file), MAGIC, "connection activity",
				     err, errlen);
	struct activity *a;

	if (!f)
		return NULL;
	a = xcalloc(1, sizeof *a);
	a->f = f;
	return a;
}

void activity_close(struct activity *a)
{
	if (!a)
		return;
	shm_unmap(a->f, sizeof(struct act_file));
	free(a);
}

char *activity_default_path(const char *db_url, const char *host_dir)
{
	return store_host_file(db_url, host_dir, ".activity");
}

/* Whether locked slot s holds id (hash key, length n). */
static int slot_is(const struct act_slot *s, uint64_t key, const char *id, size_t n)
{
	return s->key == key && s->id_len == n && memcmp(s->id, id, n) == 0;
}

/* Whether locked slot s may be given to another id: nothing pending, or only stale counts. */
static int slot_free(const struct act_slot *s, int64_t stale_before_ms)
{
	return s->key == 0 || (s->received == 0 && s->sent == 0) || s->last_ms < stale_before_ms;
}

/*
 * The slot of id, locked, or NULL. Looks at every slot of the window whose
 * key matches (a slot can be given to another id between the look and the
 * lock: then the key no longer matches under the lock).
 */
static struct act_slot *find_locked(struct activity *a, uint64_t key, const char *id, size_t n)
{
	const uint32_t mask = ACTIVITY_SLOTS - 1;
	uint32_t home = (uint32_t)key & mask;

	for (uint32_t i = 0; i < ACTIVITY_PROBE; i++) {
		struct act_slot *s = &a->f->slots[(home + i) & mask];

		if (__atomic_load_n(&s->key, __ATOMIC_RELAXED) != key)
			continue;
		if (shm_lock(&s->lock, LOCK_WAIT_US) < 0)
			return NULL;
		if (slot_is(s, key, id, n))
			return s;
		shm_unlock(&s->lock);
	}
	return NULL;
}

/*
 * With the home slot of key locked (which serialises the inserts of one
 * id): the slot of id, or a free one given to it, locked; NULL when the
 * window has none.
 */
static struct act_slot *claim_locked(struct activity *a, struct act_slot *home_slot, uint64_t key,
				     const char *id, size_t n, int64_t stale_before_ms)
{
	const uint32_t mask = ACTIVITY_SLOTS - 1;
	uint32_t home = (uint32_t)key & mask;
	struct act_slot *s;

	/* Another process may have inserted id since find_locked looked. */
	for (uint32_t i = 0; i < ACTIVITY_PROBE; i++) {
		s = &a->f->slots[(home + i) & mask];
		if (__atomic_load_n(&s->key, __ATOMIC_RELAXED) != key)
			continue;
		if (s != home_slot && shm_lock(&s->lock, LOCK_WAIT_US) < 0)
			return NULL;
		if (slot_is(s, key, id, n))
			return s;
		if (s != home_slot)
			shm_unlock(&s->lock);
	}
	for (uint32_t i = 0; i < ACTIVITY_PROBE; i++) {
		s = &a->f->slots[(home + i) & mask];
		if (s != home_slot && shm_lock(&s->lock, LOCK_WAIT_US) < 0)
			return NULL;
		if (slot_free(s, stale_before_ms)) {
			s->received = 0;
			s->sent = 0;
			s->id_len = (uint32_t)n;
			memcpy(s->id, id, n);
			__atomic_store_n(&s->key, key, __ATOMIC_RELAXED);
			return s;
		}
		if (s != home_slot)
			shm_unlock(&s->lock);
	}
	return NULL;
}

int activity_add(struct activity *a, const char *id, int64_t received, int64_t sent,
		 int64_t now_ms, int64_t stale_before_ms)
{
	size_t n = strlen(id);
	uint64_t key;
	struct act_slot *s, *home_slot;

	if (!a || n > ACTIVITY_ID_MAX)
		return -1;
	key = hash64(id, n);
	s = find_locked(a, key, id, n);
	home_slot = NULL;
	if (!s) {
		home_slot = &a->f->slots[(uint32_t)key & (ACTIVITY_SLOTS - 1)];
		if (shm_lock(&home_slot->lock, LOCK_WAIT_US) < 0)
			return -1;
		s = claim_locked(a, home_slot, key, id, n, stale_before_ms);
		if (!s) {
			shm_unlock(&home_slot->lock);
			return -1;
		}
	}
	s->received += received;
	s->sent += sent;
	s->last_ms = now_ms;
	shm_unlock(&s->lock);
	if (home_slot && home_slot != s)
		shm_unlock(&home_slot->lock);
	return 0;
}

void activity_take(struct activity *a, const char *id, int64_t *received, int64_t *sent)
{
	size_t n = strlen(id);
	struct act_slot *s;

	*received = 0;
	*sent = 0;
	if (!a || n > ACTIVITY_ID_MAX || !(s = find_locked(a, hash64(id, n), id, n)))
		return;
	*received = s->received;
	*sent = s->sent;
	s->received = 0;
	s->sent = 0;
	shm_unlock(&s->lock);
}
