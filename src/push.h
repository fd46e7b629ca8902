/* push.h - the push client: messages and closes to the proxy's callback URLs (every Pushpin node's publish API, or API Gateway @connections), with retries and a circuit breaker per node. */
#ifndef STREAMER_PUSH_H
#define STREAMER_PUSH_H

#include <stddef.h>

#include "config.h"

/*
 * One client per process: one libcurl multi handle, and for each callback
 * URL (STREAMER_CALLBACK_URL is one URL or, for the pushpin style, a
 * comma-separated list: one publish endpoint per Pushpin node) a reused
 * easy handle (keep-alive) and a circuit breaker of its own. Not
 * thread-safe; a process that forks opens its own after the fork.
 *
 * A push goes to every node at once. Every push_send call is bounded by
 * STREAMER_CALLBACK_TIMEOUT in all: attempts, backoff and the connects
 * together never exceed it, so a callback that is down never holds a
 * worker longer. Each node's request is tried up to PUSH_ATTEMPTS times,
 * with exponential backoff from 100 ms (±25 % jitter, capped at 5 s), on
 * transport errors, 5xx and 429; any other 4xx is final. With several
 * nodes, a node that takes no connection (refused, connect timeout) is not
 * retried within the call, so it delays the others by its connect timeout
 * at most. PUSH_BREAKER_FAILURES failed attempts in a row open a node's
 * breaker: its sends then fail at once ("circuit open") until
 * STREAMER_CALLBACK_BREAKER_RESET seconds have passed; the next attempt is
 * a trial that closes it again on success or reopens it on failure.
 *
 * A push succeeds when at least one node took it and every other node took
 * it too or could not be reached (no connection, or its breaker is open):
 * a Pushpin that is down holds no client to deliver to. A node that
 * answered and refused (4xx, or 5xx after the retries) fails the push.
 */
#define PUSH_ATTEMPTS 3
#define PUSH_BREAKER_FAILURES 3

/* Outcome of one item. */
enum push_outcome {
	PUSH_OK = 0,      /* accepted by the proxy */
	PUSH_STALE = 1,   /* apigw: 410 Gone, the connection no longer exists */
	PUSH_FAILED = -1, /* not delivered (see the why of push_send) */
};

/*
 * One thing to send. target is a Pushpin channel (pushpin style) or a
 * connection id (apigw style). content is the message text; for a close
 * (close = 1) content is ignored and code (0 = none) and reason (NULL =
 * none) are sent where the style allows (apigw's DELETE carries neither).
 */
struct push_item {
	const char *target;
	const char *content;
	int close;
	int code;
	const char *reason;
	enum push_outcome outcome; /* set by push_send */
};

struct push;

/*
 * Sets up the client from cfg (callback URL, style, timeouts, AWS
 * credentials). Succeeds without a callback URL too: push_configured then
 * says 0 and push_send fails. Returns 0, or -1 with a reason in err.
 */
int push_open(struct push **out, const struct config *cfg, char *err, size_t errlen);
void push_close(struct push *p);

/* 1 when STREAMER_CALLBACK_URL is set. */
int push_configured(const struct push *p);

/* The style pushes use (STREAMER_CALLBACK_STYLE). */
enum callback_style push_style(const struct push *p);

/*
 * For health checks: 0 when every callback URL accepts a connection (TCP,
 * and TLS for https) within the connect timeout and its breaker is closed;
 * 1 when some do and some do not (pushes still reach the nodes that are up;
 * why says how many are not); -1 with the reason in why when none does
 * (also when no callback is configured). Sends nothing; the nodes are
 * tried one after the other.
 */
int push_probe(struct push *p, char *why, size_t whylen);

/*
 * Sends items[0..n) and sets each item's outcome: the pushpin style puts
 * them into as few publish calls as fit Pushpin's body limit, each sent to
 * every node in parallel; the apigw style makes one request per item.
 * Returns the number of items whose outcome is PUSH_FAILED (0 = everything
 * delivered or stale), with a one-line reason for the first failure in
 * why.
 */
size_t push_send(struct push *p, struct push_item *items, size_t n, char *why, size_t whylen);

#endif
