/* store_engine.h - what a store engine implements: struct store_ops, one table per engine folder (src/store/<engine>/); not for callers. */
#ifndef STREAMER_STORE_ENGINE_H
#define STREAMER_STORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "queue.h"
#include "store.h"
#include "subs.h"

/*
 * Every engine's handle begins with this: the public functions of store.h,
 * queue.h, subs.h and history.h dispatch through s->ops and know nothing else of it.
 * An engine defines its own handle struct with a struct store as its first
 * member and converts the pointer back in each op.
 */
struct store {
	const struct store_ops *ops;
};

/*
 * One engine. Each member implements the public function of the same name
 * (store_<member> of store.h, or queue_<x>/subs_<x>/history_<x> for the
 * members so prefixed) with the same contract, taking the engine's handle where the
 * public one takes a struct queue or struct subs (those are views of the
 * store handle, see queue_open and subs_open). Every member but claims_plain is required.
 */
struct store_ops {
	const char *name;   /* "sqlite": the URL scheme that selects it */
	const char *alias;  /* a second scheme that selects it ("postgres"), NULL = none */
	/* Whether url names this engine without a scheme (SQLite: a plain path). NULL = never. */
	int (*claims_plain)(const char *url);
	int local_file;     /* the target of its URLs is a local file path (see store_host_file) */

	int (*create)(const char *target, long long gid, char *err, size_t errlen);
	int (*open)(struct store **out, const char *target, const struct store_options *opt,
		    int flags, char *err, size_t errlen);
	void (*close)(struct store *s);
	const char *(*errmsg)(struct store *s);
	int (*schema_version)(struct store *s);
	int (*schema_latest)(void);
	int (*begin)(struct store *s);
	int (*begin_read)(struct store *s);
	int (*commit)(struct store *s);
	void (*rollback)(struct store *s);
	int (*ping)(struct store *s);

	int (*conn_put)(struct store *s, const struct conn_record *r);
	int (*conn_touch)(struct store *s, const char *id, const struct conn_touch *t);
	int (*conn_refresh)(struct store *s, const char *id, const char *permissions,
			    const char *topic_claims, int64_t token_expires_at, int64_t now,
			    int64_t ttl_ms, struct conn_record *out);
	int (*conn_secret)(struct store *s, const char *id, char **hash_hex);
	int (*conn_get)(struct store *s, const char *id, struct conn_record *out);
	int (*conn_load)(struct store *s, const char *id, struct conn_record *out,
			 struct buf *arena);
	int (*conn_delete)(struct store *s, const char *id, struct conn_record *out);
	int (*conn_list)(struct store *s, const char *tenant,
			 int (*fn)(const struct conn_record *r, void *ctx), void *ctx);
	int (*conn_count_user)(struct store *s, const char *tenant, const char *user,
			       const char *except_id, int64_t now, int64_t limit, int64_t *n);

	/* r->id is always set: queue_enqueue makes it when the caller did not */
	int (*queue_enqueue)(struct store *s, struct request_record *r, int64_t now);
	int (*queue_count_live)(struct store *s, const char *connection_id, int64_t limit,
				int64_t *n);
	int (*queue_count_tenant_pending)(struct store *s, const char *tenant, int64_t limit,
					  int64_t *n);
	/* queue_unhold with the ids as one JSON array text (queue.c builds it) */
	int (*queue_unhold)(struct store *s, const char *ids_json, int64_t now);
	int (*queue_claim)(struct store *s, const char *owner, int64_t now, int64_t lease_ms,
			   struct request_record *out);
	int (*queue_renew)(struct store *s, const char *id, const char *owner, int64_t now,
			   int64_t lease_ms, int *cancel);
	int (*queue_progress)(struct store *s, const char *id, const char *owner, int64_t now,
			      int64_t lease_ms, int pct, const char *message,
			      const char *metadata, int *cancel);
	int (*queue_finish)(struct store *s, const char *id, const char *owner, int64_t now,
			    const char *status, const char *result, const char *code,
			    const char *message, int64_t keep_ms);
	int (*queue_release)(struct store *s, const char *id, const char *owner, int64_t now,
			     int64_t run_after);
	int (*queue_get_own)(struct store *s, const char *tenant, const char *user,
			     const char *request_id, struct request_record *out);
	int (*queue_cancel)(struct store *s, const char *id, int64_t now, int64_t keep_ms,
			    int *was_running, struct request_record *out);
	int (*queue_cancel_connection)(struct store *s, const char *connection_id, int64_t now,
				       int64_t keep_ms, int *n);
	int (*queue_gc)(struct store *s, int64_t now, int *n);

	int (*subs_add)(struct store *s, const char *connection_id, const char *tenant,
			const char *topic, int presence, int max, int64_t now,
			enum subs_add_result *result);
	int (*subs_remove)(struct store *s, const char *connection_id, const char *topic);
	int (*subs_topic_members)(struct store *s, const char *tenant, const char *topic,
				  int64_t now, subs_id_fn fn, void *arg);
	int (*subs_user_connections)(struct store *s, const char *tenant, const char *user,
				     int64_t now, subs_id_fn fn, void *arg);
	int (*subs_tenant_connections)(struct store *s, const char *tenant, int64_t now,
				       subs_id_fn fn, void *arg);
	int (*subs_expired_connections)(struct store *s, int64_t now, int limit, subs_id_fn fn,
					void *arg);
	int (*subs_presence)(struct store *s, const char *tenant, const char *topic, int64_t now,
			     int limit, subs_user_fn fn, void *arg);
	int (*subs_presence_count)(struct store *s, const char *tenant, const char *topic,
				   int64_t now, int64_t *users, int64_t *connections);
	int (*subs_user_topic_count)(struct store *s, const char *tenant, const char *topic,
				     const char *user, int64_t now, int64_t *n);
	int (*subs_connection_topics)(struct store *s, const char *connection_id,
				      subs_topic_fn fn, void *arg);
	int (*subs_presence_watchers)(struct store *s, const char *tenant, const char *topic,
				      int64_t now, subs_id_fn fn, void *arg);
	int (*subs_patterns)(struct store *s, const char *tenant, int64_t now, subs_topic_fn fn,
			     void *arg);

	int (*history_append)(struct store *s, const char *stream, const char *target,
			      const char *text, int64_t now, const struct history_limits *lim,
			      struct stream_pos *pos);
	int (*history_position)(struct store *s, const char *stream, struct stream_pos *pos);
	int (*history_read)(struct store *s, const char *stream, int64_t after, int64_t limit,
			    int64_t now, int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
			    int (*fn)(void *arg, const struct history_entry *e), void *arg);
	int (*history_positions)(struct store *s, const char *connection_id,
				 const char *const *names, size_t n, const char *topic_prefix,
				 int64_t since, history_pos_fn fn, void *arg);
	int (*history_gc)(struct store *s, int64_t now, int64_t ttl_ms, int64_t idle_ms,
			  int64_t *messages, int64_t *streams);

	int (*gauges)(struct store *s, int64_t now, int64_t *connections_active,
		      int64_t *requests_pending, int64_t *requests_running);
	int (*activity)(struct store *s, const char *tenant, int64_t from_ms, int64_t until_ms,
			int (*fn)(void *arg, const struct store_activity_row *row), void *arg);

	int (*wake_listen)(struct store *s, char *err, size_t errlen);
	int (*wake_fd)(struct store *s);
	void (*wake_drain)(struct store *s);
	void (*wake_notify)(struct store *s);
	void (*wake_close)(struct store *s);
};

/* The engines of this build (store.c's table), one per folder under src/store/. */
extern const struct store_ops store_sqlite_ops;
#ifdef HAVE_LIBPQ
extern const struct store_ops store_postgresql_ops; /* postgresql:// and postgres:// (libpq) */
#endif

#endif
