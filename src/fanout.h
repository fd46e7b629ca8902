/* fanout.h - who a push reaches: one connection, a user's connections, a tenant, a topic; resolved to Pushpin channels or API Gateway connection ids. */
#ifndef STREAMER_FANOUT_H
#define STREAMER_FANOUT_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"

struct store;
struct subs;
struct conn_record;
struct fanout;

/*
 * The pushpin style reaches a connection, a tenant or a topic with one
 * publish item on a channel (conn:<id>, tenant:<tenant>,
 * topic:<tenant>:<topic>, presence:<tenant>:<topic>; a tenant id holds no
 * ':' so the names cannot collide), a topic's pattern subscribers with one
 * more item per pattern (topic:<tenant>:<pattern>), and a user with one
 * item per live connection of the user, all in one publish call. The apigw style resolves every target to live
 * connection ids in the store and sends to each; a connection API Gateway
 * answers 410 Gone for is stale: its rows are removed.
 */
enum fanout_kind {
	FANOUT_CONNECTION, /* name = connection id (tenant unused) */
	FANOUT_USER,       /* name = user id within tenant */
	FANOUT_TENANT,     /* every connection of tenant (name unused) */
	FANOUT_TOPIC,      /* name = topic within tenant; also every pattern subscription covering it */
	FANOUT_PRESENCE,   /* name = topic within tenant: its subscribers that asked for presence events */
};

/*
 * The presence event of one connection that joined or left topic:
 * {"type":"presence","topic","event","user_id","connections","timestamp"},
 * connections being the user's live connections still subscribed (read now,
 * so call it inside the transaction that made the change). Returns the
 * text (free it), or NULL on a store error (reason in store_errmsg).
 */
char *fanout_presence_event(struct fanout *f, const char *tenant, const char *topic,
			    const char *user, int join, int64_t now);

/*
 * Presence events gathered inside a transaction and sent after its commit:
 * for each, the topic and the event's text. Zero-initialise.
 */
struct presence_batch {
	char *tenant;
	struct strvec topics, texts;
};

/*
 * Adds to b the leave events of connection rec (its tenant and user), just
 * removed inside the caller's transaction, for the exact topics it was
 * subscribed to (topics: fanout_connection_topics read before the delete).
 * Topics nobody watches (no subscriber asked for presence) get none.
 * Returns 0, or -1 on a store error.
 */
int fanout_presence_leaves(struct fanout *f, const struct conn_record *rec,
			   const struct strvec *topics, int64_t now, struct presence_batch *b);
/* Adds one join or leave event of user on topic to b (none when nobody watches). 0, or -1 on a store error. */
int fanout_presence_add(struct fanout *f, struct presence_batch *b, const char *tenant,
			const char *topic, const char *user, int join, int64_t now);
/* The exact (not pattern) topics connection id is subscribed to, into out. 0, or -1 on a store error. */
int fanout_connection_topics(struct fanout *f, const char *id, struct strvec *out);
/* Sends b's events (after the commit; a failure is logged, not returned) and empties b. */
void fanout_presence_flush(struct fanout *f, struct presence_batch *b);
/* Empties b without sending (the transaction rolled back). */
void presence_batch_free(struct presence_batch *b);

/* The Pushpin channel of topic's join and leave events: "presence:<tenant>:<topic>" into out. */
void fanout_presence_channel(char *out, size_t outlen, const char *tenant, const char *topic);

/* The most users a presence answer lists (the counts are always whole). */
#define PRESENCE_USERS_MAX 1000

/*
 * Who is subscribed to topic in tenant at now (live connections, exact
 * subscriptions): a new object {"topic","users":[{"user_id","connections"}],
 * "count":{"users","connections"},"truncated"} (users by user_id, at most
 * PRESENCE_USERS_MAX), or with count_only {"topic","users":U,"connections":C}.
 * NULL on a store error (store_errmsg).
 */
json_t *fanout_presence_json(struct fanout *f, const char *tenant, const char *topic,
			     int64_t now, int count_only);

/* What a send did. */
struct fanout_result {
	size_t items;      /* publish items (pushpin) or connections (apigw) sent to */
	size_t stale;      /* apigw: connections found gone and removed */
	size_t failed;     /* items not delivered */
};

/*
 * Opens the push client (push.h) and the subscription statements on store
 * (opened by the caller, outliving the fanout). Works without a callback
 * URL too: sends then fail with a clear reason. Returns 0, or -1 with a
 * reason in err.
 */
int fanout_open(struct fanout **out, const struct config *cfg, struct store *store, char *err,
		size_t errlen);
void fanout_close(struct fanout *f);

/* The subscription statements, for the subscribe/unsubscribe actions. */
struct subs *fanout_subs(struct fanout *f);

/* push_probe of the fanout's push client: 0 when every callback node is reachable, 1 when some are, -1 (with why) when none is. */
int fanout_probe(struct fanout *f, char *why, size_t whylen);

/* 1 when a callback URL is configured. */
int fanout_configured(const struct fanout *f);

/*
 * Sends text (a complete client message) to a target. Not inside a store
 * transaction: it reads the store and, for stale connections, writes it.
 * Returns 0 when every item was delivered (or found stale), -1 with a
 * one-line reason in why otherwise. res may be NULL.
 */
int fanout_send(struct fanout *f, enum fanout_kind kind, const char *tenant, const char *name,
		const char *text, struct fanout_result *res, char *why, size_t whylen);

/* fanout_send of msg (borrowed) serialised compactly. */
int fanout_send_json(struct fanout *f, enum fanout_kind kind, const char *tenant,
		     const char *name, json_t *msg, struct fanout_result *res, char *why,
		     size_t whylen);

/*
 * Closes connection id at the proxy with a WebSocket close code (0 = none)
 * and reason (NULL = none; apigw's DELETE carries neither). The store row is
 * the caller's to remove (the proxy then also reports the close to a
 * worker). Returns 0 or -1 with why, as fanout_send.
 */
int fanout_close_connection(struct fanout *f, const char *id, int code, const char *reason,
			    char *why, size_t whylen);

#endif
