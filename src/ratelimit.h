/* ratelimit.h - per-connection token buckets shared by every worker on the host through one mmap'ed file. */
#ifndef STREAMER_RATELIMIT_H
#define STREAMER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * lighttpd spreads one connection's requests over all workers, so a bucket
 * kept in one process would let a client send N times the rate. Every
 * process maps the same file (by default "<database>.ratelimit") holding a
 * fixed table of RATELIMIT_SLOTS buckets, keyed by a 64-bit hash of the
 * connection id: open addressing with a probe of RATELIMIT_PROBE slots, a
 * per-slot spin lock (an atomic word holding the owner's pid, so a lock
 * left by a killed process is taken over), no system call and no database
 * write per message.
 *
 * A bucket whose tokens would have refilled to the burst by now carries no
 * information (a fresh bucket is full), so its slot is reused by any other
 * connection: the table only has to hold the connections that sent a burst
 * within the last burst/rate seconds. Approximations, all in the client's
 * favour: two ids with the same 64-bit hash share a bucket; when every
 * slot of a probe window holds a live bucket, the least recently used one
 * is taken over and its connection starts again from a full bucket; two
 * processes inserting the same new id at the same instant are serialised
 * by the lock of the id's first slot, so this does not double a bucket.
 */
#define RATELIMIT_SLOTS 65536
#define RATELIMIT_PROBE 16

struct ratelimit;

/*
 * Maps (creating it mode 0660 if needed) the table file at path, or, when
 * path is NULL, a private table of this process only (limits then hold per
 * process). Returns a handle, or NULL with a reason in err.
 */
struct ratelimit *ratelimit_open(const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Unmaps the table. Safe on NULL. */
void ratelimit_close(struct ratelimit *rl);

/* The default table file for a STREAMER_DB value and STREAMER_HOST_DIR (store_host_file; caller frees). */
char *ratelimit_default_path(const char *db_path, const char *host_dir);

/*
 * Takes one token from the bucket of key[0..len) (a connection id), which
 * refills at rate tokens per second up to burst tokens; now_us is
 * time_mono_us() (one clock for every process of the host; a bucket whose
 * time lies in the future, e.g. after a reboot, starts full). Returns 0
 * when the token was there (the message may pass), else how many
 * milliseconds (>= 1) until one will be. rl NULL or rate <= 0 always
 * returns 0.
 */
int64_t ratelimit_take(struct ratelimit *rl, const char *key, size_t len, int64_t rate,
		       int64_t burst, int64_t now_us);

#endif
