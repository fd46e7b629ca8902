/* activity.h - per-connection message counts not yet written to the store, shared by every worker on the host through one mmap'ed file. */
#ifndef STREAMER_ACTIVITY_H
#define STREAMER_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

/*
 * A client message writes nothing to the store in the common case (see
 * conn.c): its counts (messages_received, messages_sent) are added here,
 * and taken out and written to the connection's row with the next touch of
 * its expiry, a keep-alive that extends it, or its close. lighttpd spreads
 * one connection's requests over all workers, so the table is the host's:
 * every process maps the same file (by default "<database>.activity"), and
 * the worker that closes a connection takes the counts the others added.
 * Nothing is lost when a worker is killed (the counts are in the file);
 * removing the file, or a reboot when it lives in tmpfs, loses the counts
 * not yet written (at most one touch interval's per connection).
 *
 * The table holds ACTIVITY_SLOTS slots, each keyed by the connection id
 * (a 64-bit hash to find it, the whole id to be exact), found by open
 * addressing within ACTIVITY_PROBE slots of the hash's home, under a
 * per-slot lock (shm_lock). A slot whose counts were taken (zero) is free
 * for another connection, and so is one whose counts were last added
 * before the caller's stale horizon (its connection has expired without a
 * close: nobody will take them). When no slot of the window is free,
 * activity_add says so and the caller writes the counts itself.
 */
#define ACTIVITY_SLOTS 65536
#define ACTIVITY_PROBE 32
#define ACTIVITY_ID_MAX 128 /* the longest connection id (conn_id_valid) */

struct activity;

/*
 * Maps (creating it mode 0660 if needed) the table file at path, or, when
 * path is NULL, a private table of this process only. Returns a handle, or
 * NULL with a reason in err.
 */
struct activity *activity_open(const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Unmaps the table. Safe on NULL. */
void activity_close(struct activity *a);

/* The default table file for a STREAMER_DB value and STREAMER_HOST_DIR (store_host_file; caller frees). */
char *activity_default_path(const char *db_url, const char *host_dir);

/*
 * Adds received and sent (>= 0) to the pending counts of connection id at
 * now_ms (time_now_ms()); counts last added before stale_before_ms may be
 * dropped to make room. Returns 0, or -1 when there is no room (every slot
 * of the window busy), the id is longer than ACTIVITY_ID_MAX or a slot lock
 * could not be had: the counts were not added and the caller must write
 * them to the store itself.
 */
int activity_add(struct activity *a, const char *id, int64_t received, int64_t sent,
		 int64_t now_ms, int64_t stale_before_ms) __attribute__((warn_unused_result));

/*
 * Takes the pending counts of connection id: sets *received and *sent to
 * them (0 when there are none) and zeroes them in the table. Give them back
 * with activity_add when writing them fails.
 */
void activity_take(struct activity *a, const char *id, int64_t *received, int64_t *sent);

#endif
