/* conn.h - connection events shared by both dialects: open (authenticate + store), message (route), close. */
#ifndef STREAMER_CONN_H
#define STREAMER_CONN_H

#include <stddef.h>

#include <jansson.h>

#include "app.h"
#include "protocol.h"
#include "store.h"

/*
 * Connection ids, from Connection-Id or X-Connection-Id: [A-Za-z0-9._:-]{1,128},
 * and not only dots ("." and ".." are path segments in the apigw style's URLs).
 */
int conn_id_valid(const char *id);

/*
 * The client address to record: the last X-Forwarded-For entry (the one the
 * proxy appended) when it is a valid IPv4 or IPv6 address, else remote_addr
 * (the web server's peer). Either may be NULL. Returns a new string or NULL.
 */
char *conn_source_addr(const char *forwarded_for, const char *remote_addr);

/*
 * When a token with exp (seconds since the epoch) stops being accepted,
 * given leeway seconds: (exp + leeway) * 1000 ms, saturated instead of
 * overflowing. The connection's token_expires_at.
 */
int64_t conn_token_limit_ms(int64_t exp, int64_t leeway);

/*
 * Verifies token (NUL-terminated) with the configured policy (pinned
 * algorithm, key, iss, aud, leeway, now): what connect and auth.refresh
 * both use. See auth_verify; never logs the token.
 */
enum auth_error conn_verify_token(const struct app *app, const char *token,
				  struct auth_identity *who) __attribute__((warn_unused_result));

/*
 * The connection row's topic_claims text for a verified token: a new string
 * {"topics":[…],"publish_topics":[…]} of the claims it has, or NULL when it
 * has neither.
 */
char *conn_topic_claims(const struct auth_identity *who);

/* How an open was refused: the code (whose HTTP status is http_status_of) and the message. */
struct conn_reject {
	enum err_code code;
	char message[160];
};

/*
 * Authenticates req (token from the Authorization query parameter, else the
 * Authorization: Bearer header) and stores the connection id. secret is NULL
 * for the WebSocket dialect; for the plain dialect it is the new secret
 * (secret_new) whose hash the row keeps. Returns 0 and fills *rec (release
 * with conn_record_free), or -1 with rej filled (401 UNAUTHORIZED, 403
 * FORBIDDEN for a disallowed tenant, 409 CONFLICT when the id is live and
 * belongs to another user, tenant or dialect — the row is then left alone —,
 * 429 RATE_LIMITED when the user already holds STREAMER_MAX_CONNECTIONS_PER_USER
 * live connections, 500 INTERNAL_ERROR; the statuses of http_status_of). Logs one line either way, never the
 * token or secret.
 *
 * A token's topics claim subscribes the connection to each of its names
 * and patterns in the same transaction (server-side subscriptions): then
 * *subscribed (when subscribed is non-NULL) becomes a new array of what the
 * client is told ({"topic","stream","epoch","offset"} per name,
 * {"topic","pattern":true} per pattern), else NULL. A topics claim of more
 * than TOPICS_PER_CONNECTION entries is refused (401).
 */
int conn_open(struct app *app, const struct request *req, const char *id, const char *secret,
	      struct conn_record *rec, json_t **subscribed, struct conn_reject *rej);

/* What one client message produced. */
struct conn_reply {
	json_t *messages;  /* outbound messages in order (an array of at least one) */
	json_t *controls;  /* GRIP control messages for the connection (an array, maybe empty) */
	int gone;          /* the connection is unknown or expired: close the client */
	int token_expired; /* with gone: because its token expired (close code 4001, "token expired") */
};

/*
 * Handles one client text message on connection id, in one transaction:
 * for the plain dialect checks secret (NULL only for the WebSocket dialect)
 * against the row's hash first, then looks the connection up (sliding its
 * expiry), validates and routes the
 * message; after the commit makes the pushes handlers asked for. Fills *out (release with
 * conn_reply_free). When the connection is unknown or expired the reply is
 * an UNAUTHORIZED error and out->gone is 1; so it is for a wrong secret,
 * which changes nothing. When it expired because its token did
 * (token_expires_at passed) out->token_expired is 1 too and the error names
 * token expiry (details {"reason":"token_expired"}). A queued request sets
 * app->wake_pending (see app_after_response).
 */
void conn_message(struct app *app, const char *id, const char *secret, const char *text,
		  size_t len, struct conn_reply *out);
void conn_reply_free(struct conn_reply *r);

/*
 * Keep-alive from the proxy: extends the live row's expiry (never past its
 * token's) when a touch is due (see "The touch" in conn.c), writing the
 * connection's pending counts with it. Returns 1 when the connection is
 * there but its token expired (the caller closes the client with 4001),
 * else 0.
 */
int conn_keepalive(struct app *app, const char *id);

/* Frees this process's caches of connection data (the parsed permissions). For app_free. */
void conn_cache_free(void);

/*
 * Removes the connection and its dependent rows (subscriptions), cancels its
 * still-pending async requests and logs one disconnect line
 * with duration and counters (exact: the counts the host's workers had not
 * yet written are taken from the activity table). reason is a short label ("close",
 * "disconnect", "http"); code is the WebSocket close code the line records
 * (negative: none). With secret NULL (WebSocket dialect) it succeeds
 * for an unknown id. With a secret (plain dialect) the row must exist and
 * hold that secret, else nothing changes and it returns 1. Returns 0 when
 * done, -1 on a store error (logged). A database that stays busy
 * (store_begin or the commit fails with "is busy") is tried again up to
 * CONN_CLOSE_TRIES times in all, with a short growing pause between tries
 * (each logged as disconnect_retry); after that the row is left for
 * `streamer gc`, which removes it once it expires (disconnect_failed).
 */
#define CONN_CLOSE_TRIES 4
int conn_close(struct app *app, const char *id, const char *secret, const char *reason, int code);

#endif
