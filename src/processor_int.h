/* processor_int.h - what the files of `streamer processor` share: a slot, the request process and its frames, the options, the stop flag. */
#ifndef STREAMER_PROCESSOR_INT_H
#define STREAMER_PROCESSOR_INT_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"

struct fanout;
struct queue;
struct request_record;
struct store;

/* Set by SIGTERM/SIGINT: running requests are stopped and handed back, slots end. */
extern volatile sig_atomic_t processor_stopping;

/* ---- processor_opts.c ---------------------------------------------------- */

struct processor_opts {
	long concurrency; /* slots (processes), 1-256 */
	int once;         /* run what is queued now, then exit */
};

/*
 * Parses the command line of `streamer processor` into o. Returns -1 when
 * the processor is to run, else the exit status at once: 0 after --help
 * (printed to stdout), 2 on a usage error (printed to stderr).
 */
int processor_opts_parse(int argc, char **argv, struct processor_opts *o);

/* ---- processor_child.c: the request process and the frames it exchanges ------ */

/*
 * A frame is [type:1][length:4, big-endian][length bytes of JSON]. The request
 * sends 'P' (progress: {pct, message, metadata}), then 'R' (result JSON) or
 * 'E' (error JSON {code, message}); the slot answers each 'P' with one
 * byte, 'c' to go on or 's' to stop.
 */

/* Sends j (borrowed) as a frame of type. Returns 0, or -1 when it could not. */
int frame_send(int fd, char type, const json_t *j);
/* Reads one frame; returns its type, or 0 on end of stream or a bad frame. *j is a new reference (NULL on 0). */
char frame_recv(int fd, json_t **j);

/*
 * The request process, in the child the slot forked: makes its own process
 * group, runs the request's handler with cfg until deadline (wall-clock ms) and
 * sends its progress and outcome as frames on fd. Never returns.
 */
void processor_child(const struct config *cfg, const struct request_record *req, int64_t deadline,
		     int fd) __attribute__((noreturn));

/* ---- processor_slot.c: one slot ------------------------------------------ */

/* One processor slot: a process that runs one request at a time. */
struct slot {
	struct config cfg;
	struct store *store;
	struct queue *q;
	struct fanout *fanout;
	char owner[96];
};

/*
 * Loads the settings and opens what a slot uses (log, metrics, store,
 * queue, async runtime, fanout, wake-up socket). Returns 0, or -1 with a
 * one-line reason in err; slot_close is needed either way.
 */
int slot_open(struct slot *sl, char *err, size_t errlen);
void slot_close(struct slot *sl);

/*
 * One slot's life: claim, run, repeat; wait for a wake-up when idle; with
 * once, return when nothing is claimable. Returns the exit status.
 */
int slot_main(int once);

#endif
