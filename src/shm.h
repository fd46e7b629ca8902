/* shm.h - host-wide tables in an mmap'ed file: mapping one, per-slot locks that survive a killed holder, the key hash. */
#ifndef STREAMER_SHM_H
#define STREAMER_SHM_H

#include <stddef.h>
#include <stdint.h>

/*
 * The rate limiter (ratelimit.c) and the connection activity table
 * (activity.c) are fixed tables of slots that every worker of the host
 * maps from one file beside the database. A file starts with an 8-byte
 * magic naming its layout; a file of another layout is refused, never
 * reinterpreted.
 */

/*
 * Maps size bytes of the file at path (created mode 0660 and sized when
 * missing or short) shared with every process mapping it, or, when path is
 * NULL, a private zeroed table of this process only. The first 8 bytes must
 * be magic, or zero (a new file: magic is written). what names the table in
 * errors ("rate limit"). Returns the mapping, or NULL with a reason in err.
 */
void *shm_map(const char *path, size_t size, const char magic[8], const char *what, char *err,
	      size_t errlen) __attribute__((warn_unused_result));

/* Unmaps what shm_map returned (size as given to it). Safe on NULL. */
void shm_unmap(void *p, size_t size);

/*
 * Takes the lock word *lock (0 = free, else the holder's pid): spins, then
 * yields; a holder that no longer exists (killed while holding it) is
 * replaced. Returns 0, or -1 when it could not be had within wait_us.
 * Hold it for a few instructions only, never across a system call.
 */
int shm_lock(uint32_t *lock, int64_t wait_us) __attribute__((warn_unused_result));

/* Releases a lock taken with shm_lock. */
void shm_unlock(uint32_t *lock);

#endif
