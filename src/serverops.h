/* serverops.h - what the server itself does to connections (send, broadcast, close, forget), shared by the CLI and the server HTTP API. */
#ifndef STREAMER_SERVEROPS_H
#define STREAMER_SERVEROPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "fanout.h"

struct store;
struct queue;
struct conn_record;

/* What the operations use; all borrowed, opened by the caller. */
struct serverops {
	const struct config *cfg;
	struct store *store;
	struct fanout *fanout;
	struct queue *queue;
};

/*
 * Outcomes: OPS_OK; OPS_NOTFOUND (the target has no live connection);
 * OPS_FAILED (the push or close did not go through: why says, and may
 * name the callback URL: redact it before showing it); OPS_STORE_ERROR
 * (the store failed: why is its store_errmsg).
 */
enum { OPS_OK = 0, OPS_NOTFOUND = 1, OPS_FAILED = -1, OPS_STORE_ERROR = -2 };

/*
 * Pushes msg (a JSON object, borrowed; it gains "stream", "offset" and
 * "epoch") to connection id, numbered in its user's stream for that
 * connection alone. OPS_NOTFOUND when the connection is absent or expired
 * (nothing stored or sent).
 */
int ops_send_connection(struct serverops *o, const char *id, json_t *msg,
			struct fanout_result *res, char *why, size_t whylen);

/*
 * Pushes msg (an object, borrowed, numbered as above) to every live
 * connection of user in tenant, numbered in the user's stream.
 * OPS_NOTFOUND when the user has no live connection (the message stays in
 * the stream's history for a client that reconnects and asks).
 */
int ops_send_user(struct serverops *o, const char *tenant, const char *user, json_t *msg,
		  struct fanout_result *res, char *why, size_t whylen);

/*
 * With topic: msg is the event ({"type":"event",…}, proto_event) pushed to
 * the tenant's subscribers of topic (and its pattern subscribers), numbered
 * in the topic's stream, as a client's publish. Without: msg (an object) is
 * pushed as given to every connection of tenant, numbered in the tenant's
 * stream. msg is borrowed and gains its stream position.
 */
int ops_broadcast(struct serverops *o, const char *tenant, const char *topic, json_t *msg,
		  struct fanout_result *res, char *why, size_t whylen);

/* 1 when code is a WebSocket close code a server may send (1000-1003, 1007-1014, 3000-4999). */
int ops_close_code_valid(long code);

/*
 * Closes connection id at the proxy with code and reason (at most 123
 * bytes), then forgets it (ops_forget). OPS_NOTFOUND when the store has no
 * such connection (nothing sent). OPS_FAILED names which step failed.
 */
int ops_close(struct serverops *o, const char *id, int code, const char *reason, char *why,
	      size_t whylen);

/*
 * Inside the caller's transaction: removes connection id's row (filling
 * rec, when it existed, with the row as it was), its subscriptions and its
 * pending requests (*cancelled: how many), adding the leave events of the
 * topics it was in to leaves (send them after the commit). STORE_OK,
 * STORE_NOTFOUND or STORE_ERROR.
 */
int ops_remove(struct serverops *o, const char *id, int64_t now, struct conn_record *rec,
	       int *cancelled, struct presence_batch *leaves);

/*
 * Removes connection id as a disconnect does, in one transaction: its row,
 * subscriptions and pending requests; then sends the leave events of the
 * topics it was in to their presence watchers. STORE_OK, STORE_NOTFOUND
 * (no row; nothing changed) or STORE_ERROR (store_errmsg says).
 */
int ops_forget(struct serverops *o, const char *id, int64_t now);

#endif
