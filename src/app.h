/* app.h - process state of a worker and the entry point that turns one HTTP request into one response. */
#ifndef STREAMER_APP_H
#define STREAMER_APP_H

#include "auth.h"
#include "config.h"
#include "http.h"
#include "store.h"

struct fanout;
struct queue;
struct ratelimit;
struct activity;

/*
 * Built once per process by app_init. cfg and key are read-only while
 * serving; the fields from wake_pending on are written while serving:
 * wake_pending and held by the request in hand (app_after_response resets
 * them), the health probe's time and result by /healthz (a cache kept
 * across requests).
 */
struct app {
	struct config cfg;
	struct auth_key *key;
	struct store *store;
	struct queue *queue;     /* async requests (on store) */
	struct fanout *fanout;   /* pushes through the callback URL, subscriptions (on store) */
	struct ratelimit *ratelimit; /* per-connection message buckets shared by the host's workers; NULL = off */
	struct activity *activity;   /* message counts not yet in the store, shared by the host's workers; NULL = every message writes them */
	struct buf conn_arena;       /* the strings of the connection row read per message (store_conn_load) */
	int wake_pending;        /* a request was queued: wake the processors once the answer is out */
	int64_t health_probe_at_ms; /* when /healthz last probed the callback URL (0: never) */
	int health_probe_rc;        /* that probe's result: 0 ok, 1 some callback nodes down, -1 failing */
	char **held;             /* server ids queued by the request in hand, held until its answer is out */
	size_t nheld, held_cap;
};

/*
 * A request queued by a worker is held (not claimable) until the answer
 * that acknowledges it has been handed to the web server, or at most this
 * long (a worker that died in between).
 */
#define APP_HOLD_MS 10000

/*
 * Loads configuration, the JWT key, the store, the queue, the push client
 * and the handler-ABI actions (plugins, exec). Returns 0, or -1 with a
 * one-line reason in err (the process must not serve then).
 */
int app_init(struct app *app, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void app_free(struct app *app);

/*
 * Serves one request: Grip-Sig check, then the dialect chosen by content type
 * and path. Always fills resp (status, type, headers, body).
 */
void app_handle(struct app *app, struct request *req, struct response *resp);

/*
 * Notes that the request in hand queued the held request id (server id,
 * ownership taken): app_after_response releases it.
 */
void app_hold_request(struct app *app, char *id);

/*
 * Called once the answer to a request has been handed to the web server:
 * makes the requests it queued claimable (app_hold_request) and wakes the
 * processors. Holding them until now keeps a processor's first push
 * (progress) from leaving before the acknowledgment in the answer; it cannot
 * make the client see them in that order (see docs/protocol.md, "Async requests").
 */
void app_after_response(struct app *app);

#endif
