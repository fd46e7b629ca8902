/* subs.h - the store interface's subscriptions section: topic subscriptions and push-target lookups. */
#ifndef STREAMER_SUBS_H
#define STREAMER_SUBS_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct subs;

/*
 * Every function returns STORE_OK, STORE_NOTFOUND or STORE_ERROR (reason in
 * store_errmsg of the store the handle was opened on). Calls outside a
 * store_begin transaction commit on their own. Times are ms since the epoch.
 *
 * Only subs_add and subs_remove write. Every other function only reads and
 * needs no transaction (inside one it sees the transaction's own writes:
 * subs_connection_topics before the store_conn_delete of a disconnect lists
 * what the delete takes away).
 *
 * Pattern subscriptions: a topic "*" or "<prefix>.*" (from a token's topics
 * claim; the caller validates it) is stored as given, flagged as a pattern
 * (subs_patterns). The lookups by topic match it only by its own text.
 */

/* Topic names: [A-Za-z0-9._:-]{1,128}. */
#define SUBS_TOPIC_MAX 128
int subs_topic_valid(const char *topic);

/* Whether subs_add stores topic as a pattern: it ends with '*' (no check of the rest). */
int subs_topic_is_pattern(const char *topic);

/*
 * The subscriptions view of store s (after store_open; the engine prepared
 * the statements there); never NULL (it only remembers s). subs_close frees
 * only the view.
 */
struct subs *subs_open(struct store *s);
void subs_close(struct subs *u);

enum subs_add_result {
	SUBS_ADDED = 0,      /* a new subscription */
	SUBS_ALREADY = 1,    /* it was there: only its presence flag may have changed */
	SUBS_LIMIT = 2,      /* the connection holds max topics already */
};

/*
 * Subscribes connection_id (of tenant) to topic unless it holds max topics
 * already; *result says which. presence (0 or 1): the connection also wants
 * the topic's join/leave events; on a subscription already there
 * (SUBS_ALREADY) the flag becomes presence, so a second subscribe turns it
 * on or off. A topic ending in '*' is stored as a pattern (see above). Call
 * inside a transaction so the count and the insert are one step.
 * STORE_NOTFOUND when the connection row is gone.
 */
int subs_add(struct subs *u, const char *connection_id, const char *tenant, const char *topic,
	     int presence, int max, int64_t now, enum subs_add_result *result)
	__attribute__((warn_unused_result));

/* Removes one subscription. STORE_NOTFOUND when there was none. */
int subs_remove(struct subs *u, const char *connection_id, const char *topic)
	__attribute__((warn_unused_result));

/* Receives one connection id (borrowed for the call); non-zero stops the walk. */
typedef int (*subs_id_fn)(void *arg, const char *connection_id);

/* A subs_id_fn that appends each id to the struct strvec (util.h) arg. */
int subs_collect(void *strvec, const char *connection_id);

/*
 * The live connections (expires_at > now) of a target, in no set order:
 * subscribers of topic in tenant; connections of user in tenant; every
 * connection of tenant. fn must not call back into u.
 */
int subs_topic_members(struct subs *u, const char *tenant, const char *topic, int64_t now,
		       subs_id_fn fn, void *arg) __attribute__((warn_unused_result));
int subs_user_connections(struct subs *u, const char *tenant, const char *user, int64_t now,
			  subs_id_fn fn, void *arg) __attribute__((warn_unused_result));
int subs_tenant_connections(struct subs *u, const char *tenant, int64_t now, subs_id_fn fn,
			    void *arg) __attribute__((warn_unused_result));

/* Connections whose expires_at <= now, at most limit of them, oldest first (for gc). */
int subs_expired_connections(struct subs *u, int64_t now, int limit, subs_id_fn fn, void *arg)
	__attribute__((warn_unused_result));

/* Receives one user of a topic and how many of their connections subscribe to it; non-zero stops. */
typedef int (*subs_user_fn)(void *arg, const char *user_id, int64_t connections);

/* Receives one subscribed topic (borrowed for the call) and its presence flag; non-zero stops. */
typedef int (*subs_topic_fn)(void *arg, const char *topic, int presence);

/*
 * The presence of topic in tenant: the live connections (expires_at > now)
 * subscribed to exactly topic, grouped by user. fn gets each user and their
 * count, ordered by user_id, at most limit users (ask for one more to know
 * whether the list was cut). fn must not call back into u.
 */
int subs_presence(struct subs *u, const char *tenant, const char *topic, int64_t now, int limit,
		  subs_user_fn fn, void *arg) __attribute__((warn_unused_result));

/* The totals of subs_presence without a limit: distinct users and live connections. */
int subs_presence_count(struct subs *u, const char *tenant, const char *topic, int64_t now,
			int64_t *users, int64_t *connections) __attribute__((warn_unused_result));

/*
 * Into *n: how many live connections of user in tenant are subscribed to
 * topic (the "connections" of a join or leave event, counted after the change).
 */
int subs_user_topic_count(struct subs *u, const char *tenant, const char *topic,
			  const char *user, int64_t now, int64_t *n)
	__attribute__((warn_unused_result));

/*
 * Every subscription of connection_id, whatever its expiry, ordered by
 * topic: fn gets the topic and its presence flag (before a disconnect
 * deletes the rows, to send their leave events). No rows is STORE_OK. fn
 * must not call back into u.
 */
int subs_connection_topics(struct subs *u, const char *connection_id, subs_topic_fn fn,
			   void *arg) __attribute__((warn_unused_result));

/*
 * The live connections subscribed to topic in tenant with the presence
 * flag, in no set order (the targets of its join/leave events where there
 * are no Pushpin channels). fn must not call back into u.
 */
int subs_presence_watchers(struct subs *u, const char *tenant, const char *topic, int64_t now,
			   subs_id_fn fn, void *arg) __attribute__((warn_unused_result));

/*
 * The distinct pattern topics of tenant that at least one live connection
 * subscribes to, ordered by topic; fn's presence argument is 0. Runs on
 * every publish: with no pattern subscription in the tenant it is one
 * index probe. fn must not call back into u.
 */
int subs_patterns(struct subs *u, const char *tenant, int64_t now, subs_topic_fn fn, void *arg)
	__attribute__((warn_unused_result));

#endif
