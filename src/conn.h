/* conn.h - connection events shared by both dialects: open (authenticate + store), message (route), close. */
#ifndef STREAMER_CONN_H
#define STREAMER_CONN_H

#include <stddef.h>

#include <jansson.h>

#include "app.h"
#include "store.h"

/* Connection ids, from Connection-Id or X-Connection-Id: [A-Za-z0-9._:-]{1,128}. */
int conn_id_valid(const char *id);

/* How an open was refused: the HTTP status and the {"error","code"} body. */
struct conn_reject {
	int status;
	const char *code;
	char message[160];
};

/*
 * Authenticates req (token from the Authorization query parameter, else the
 * Authorization: Bearer header) and stores the connection id. Returns 0 and
 * fills *rec (release with conn_record_free), or -1 with rej filled (401
 * UNAUTHORIZED, 403 FORBIDDEN for a disallowed tenant, 429 RATE_LIMITED when
 * the user already holds STREAMER_MAX_CONNECTIONS_PER_USER live connections,
 * 500 INTERNAL_ERROR).
 * Logs one line either way, never the token.
 */
int conn_open(struct app *app, const struct request *req, const char *id,
	      struct conn_record *rec, struct conn_reject *rej);

/* What one client message produced. */
struct conn_reply {
	json_t *messages;  /* outbound messages in order (an array of at least one) */
	json_t *controls;  /* GRIP control messages for the connection (an array, maybe empty) */
	int gone;          /* the connection is unknown or expired: close the client */
};

/*
 * Handles one client text message on connection id, in one transaction:
 * looks the connection up (sliding its expiry), validates and routes the
 * message; after the commit makes the pushes handlers asked for. Fills *out (release with
 * conn_reply_free). When the connection is unknown or expired the reply is
 * an UNAUTHORIZED error and out->gone is 1. A queued request sets
 * app->wake_pending (see app_after_response).
 */
void conn_message(struct app *app, const char *id, const char *text, size_t len,
		  struct conn_reply *out);
void conn_reply_free(struct conn_reply *r);

/* Keep-alive from the proxy: extends the live row's expiry. */
void conn_keepalive(struct app *app, const char *id);

/*
 * Removes the connection and its dependent rows (subscriptions), cancels its
 * still-pending async requests and logs one disconnect line
 * with duration and counters. reason is a short label ("close",
 * "disconnect", "http"). Succeeds for an unknown id.
 */
void conn_close(struct app *app, const char *id, const char *reason, int code);

#endif
