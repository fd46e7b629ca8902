/* wake.h - waking idle processors at once when a request is queued: unix datagram sockets in a directory beside the database. */
#ifndef STREAMER_WAKE_H
#define STREAMER_WAKE_H

#include <stddef.h>

/*
 * Each waiting processor binds a datagram socket in "<database>.wake/"; a
 * worker that queues a request sends one byte to every socket there. A lost
 * wake-up costs only latency: processors also poll the queue every few
 * seconds. Sockets of processors that died are removed by the next sender.
 */
struct wake {
	int fd;
	char path[108]; /* sizeof sun_path */
};

/*
 * Binds a new wake socket for this process in the directory
 * "<db_path>.wake" (creating it, mode 0770). Returns 0, or -1 with a reason
 * in err.
 */
int wake_listen(struct wake *w, const char *db_path, char *err, size_t errlen);

/* Closes and unlinks the socket. Safe on a zeroed struct wake with fd -1 or 0 path. */
void wake_close(struct wake *w);

/* Reads and discards every pending wake-up (the fd is non-blocking). */
void wake_drain(struct wake *w);

/* Sends a wake-up to every processor waiting on db_path's queue. Never blocks; errors are ignored. */
void wake_all(const char *db_path);

#endif
