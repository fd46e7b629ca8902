/* subs.c - the subscriptions section of the store interface: topic names, and calls dispatched to the store's engine (see subs.h). */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_engine.h"
#include "subs.h"
#include "util.h"

/* A view of the store: every call goes to the engine of the store it was opened on. */
struct subs {
	struct store *store;
};

int subs_topic_valid(const char *topic)
{
	return topic && str_is_token(topic, strlen(topic), SUBS_TOPIC_MAX, "._:-");
}

int subs_topic_is_pattern(const char *topic)
{
	size_t n = topic ? strlen(topic) : 0;

	return n > 0 && topic[n - 1] == '*';
}

struct subs *subs_open(struct store *s)
{
	struct subs *u = xcalloc(1, sizeof *u);

	u->store = s;
	return u;
}

void subs_close(struct subs *u)
{
	free(u);
}

int subs_collect(void *strvec, const char *connection_id)
{
	strvec_push(strvec, connection_id);
	return 0;
}

int subs_add(struct subs *u, const char *connection_id, const char *tenant, const char *topic,
	     int presence, int max, int64_t now, enum subs_add_result *result)
{
	return u->store->ops->subs_add(u->store, connection_id, tenant, topic, presence != 0, max,
				       now, result);
}

int subs_remove(struct subs *u, const char *connection_id, const char *topic)
{
	return u->store->ops->subs_remove(u->store, connection_id, topic);
}

int subs_topic_members(struct subs *u, const char *tenant, const char *topic, int64_t now,
		       subs_id_fn fn, void *arg)
{
	return u->store->ops->subs_topic_members(u->store, tenant, topic, now, fn, arg);
}

int subs_user_connections(struct subs *u, const char *tenant, const char *user, int64_t now,
			  subs_id_fn fn, void *arg)
{
	return u->store->ops->subs_user_connections(u->store, tenant, user, now, fn, arg);
}

int subs_tenant_connections(struct subs *u, const char *tenant, int64_t now, subs_id_fn fn,
			    void *arg)
{
	return u->store->ops->subs_tenant_connections(u->store, tenant, now, fn, arg);
}

int subs_expired_connections(struct subs *u, int64_t now, int limit, subs_id_fn fn, void *arg)
{
	return u->store->ops->subs_expired_connections(u->store, now, limit, fn, arg);
}

int subs_presence(struct subs *u, const char *tenant, const char *topic, int64_t now, int limit,
		  subs_user_fn fn, void *arg)
{
	return u->store->ops->subs_presence(u->store, tenant, topic, now, limit, fn, arg);
}

int subs_presence_count(struct subs *u, const char *tenant, const char *topic, int64_t now,
			int64_t *users, int64_t *connections)
{
	return u->store->ops->subs_presence_count(u->store, tenant, topic, now, users, connections);
}

int subs_user_topic_count(struct subs *u, const char *tenant, const char *topic,
			  const char *user, int64_t now, int64_t *n)
{
	return u->store->ops->subs_user_topic_count(u->store, tenant, topic, user, now, n);
}

int subs_connection_topics(struct subs *u, const char *connection_id, subs_topic_fn fn,
			   void *arg)
{
	return u->store->ops->subs_connection_topics(u->store, connection_id, fn, arg);
}

int subs_presence_watchers(struct subs *u, const char *tenant, const char *topic, int64_t now,
			   subs_id_fn fn, void *arg)
{
	return u->store->ops->subs_presence_watchers(u->store, tenant, topic, now, fn, arg);
}

int subs_patterns(struct subs *u, const char *tenant, int64_t now, subs_topic_fn fn, void *arg)
{
	return u->store->ops->subs_patterns(u->store, tenant, now, fn, arg);
}
