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
	     int max, int64_t now, enum subs_add_result *result)
{
	return u->store->ops->subs_add(u->store, connection_id, tenant, topic, max, now, result);
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
