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
 */

/* Topic names: [A-Za-z0-9._:-]{1,128}. */
#define SUBS_TOPIC_MAX 128
int subs_topic_valid(const char *topic);

/*
 * The subscriptions view of store s (after store_open; the engine prepared
 * the statements there); never NULL (it only remembers s). subs_close frees
 * only the view.
 */
struct subs *subs_open(struct store *s);
void subs_close(struct subs *u);

enum subs_add_result {
	SUBS_ADDED = 0,      /* a new subscription */
	SUBS_ALREADY = 1,    /* it was there: nothing changed */
	SUBS_LIMIT = 2,      /* the connection holds max topics already */
};

/*
 * Subscribes connection_id (of tenant) to topic unless it holds max topics
 * already; *result says which. Call inside a transaction so the count and
 * the insert are one step. STORE_NOTFOUND when the connection row is gone.
 */
int subs_add(struct subs *u, const char *connection_id, const char *tenant, const char *topic,
	     int max, int64_t now, enum subs_add_result *result)
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

#endif
