/* subs.c - the PostgreSQL engine's topic subscriptions and push-target lookups (sql/postgresql/004_subscriptions.sql): the subs_* ops. */
#include "pg_int.h"

/* Ends a statement of at most one row: STORE_OK with a row (*value = column 0), STORE_NOTFOUND without, STORE_ERROR for res NULL. */
static int one(PGresult *res, int64_t *value)
{
	int ret;

	if (!res)
		return STORE_ERROR;
	ret = PQntuples(res) > 0 ? STORE_OK : STORE_NOTFOUND;
	if (ret == STORE_OK && value)
		*value = pg_int(res, 0, 0);
	PQclear(res);
	return ret;
}

int pg_subs_add(struct store *h, const char *connection_id, const char *tenant,
		const char *topic, int presence, int max, int64_t now,
		enum subs_add_result *result)
{
	struct pg_store *u = pgs(h);
	int64_t n = 0, had = 0;
	int rc;

	rc = one(pg_run(u, S_EXISTS, "looking up a subscription", "tt", connection_id, topic), &had);
	if (rc != STORE_NOTFOUND) {
		*result = SUBS_ALREADY;
		if (rc != STORE_OK || had == presence)
			return rc;
		return pg_cmd(u, S_SET_PRESENCE, "setting a subscription's presence", NULL, "tti",
			      connection_id, topic, (int64_t)presence);
	}
	if (one(pg_run(u, S_COUNT, "counting subscriptions", "t", connection_id), &n) ==
	    STORE_ERROR)
		return STORE_ERROR;
	if (n >= max) {
		*result = SUBS_LIMIT;
		return STORE_OK;
	}
	rc = one(pg_run(u, S_ADD, "adding a subscription", "tttiii", connection_id, tenant, topic,
			now, (int64_t)presence, (int64_t)subs_topic_is_pattern(topic)), NULL);
	*result = SUBS_ADDED;
	return rc;
}

int pg_subs_remove(struct store *h, const char *connection_id, const char *topic)
{
	struct pg_store *u = pgs(h);

	return one(pg_run(u, S_REMOVE, "removing a subscription", "tt", connection_id, topic),
		   NULL);
}

/* Ends a statement whose column 0 is a connection id, calling fn per row until it returns non-zero. */
static int walk(PGresult *res, subs_id_fn fn, void *arg)
{
	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = pg_str(res, i, 0);

		if (id && fn(arg, id) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

int pg_subs_topic_members(struct store *h, const char *tenant, const char *topic, int64_t now,
			  subs_id_fn fn, void *arg)
{
	return walk(pg_run(pgs(h), S_TOPIC, "listing a topic's subscribers", "tti", tenant, topic,
			   now), fn, arg);
}

int pg_subs_user_connections(struct store *h, const char *tenant, const char *user,
			     int64_t now, subs_id_fn fn, void *arg)
{
	return walk(pg_run(pgs(h), S_USER, "listing a user's connections", "tti", tenant, user,
			   now), fn, arg);
}

int pg_subs_tenant_connections(struct store *h, const char *tenant, int64_t now,
			       subs_id_fn fn, void *arg)
{
	return walk(pg_run(pgs(h), S_TENANT, "listing a tenant's connections", "ti", tenant, now),
		    fn, arg);
}

int pg_subs_expired_connections(struct store *h, int64_t now, int limit, subs_id_fn fn,
				void *arg)
{
	return walk(pg_run(pgs(h), S_EXPIRED, "listing expired connections", "ii", now,
			   (int64_t)limit), fn, arg);
}

int pg_subs_presence(struct store *h, const char *tenant, const char *topic, int64_t now,
		     int limit, subs_user_fn fn, void *arg)
{
	PGresult *res = pg_run(pgs(h), S_PRESENCE, "listing a topic's presence", "ttii", tenant,
			       topic, now, (int64_t)limit);

	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *user = pg_str(res, i, 0);

		if (user && fn(arg, user, pg_int(res, i, 1)) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

int pg_subs_presence_count(struct store *h, const char *tenant, const char *topic, int64_t now,
			   int64_t *users, int64_t *connections)
{
	PGresult *res = pg_run(pgs(h), S_PRESENCE_COUNT, "counting a topic's presence", "tti",
			       tenant, topic, now);

	*users = *connections = 0;
	if (!res)
		return STORE_ERROR;
	*users = pg_int(res, 0, 0);
	*connections = pg_int(res, 0, 1);
	PQclear(res);
	return STORE_OK;
}

int pg_subs_user_topic_count(struct store *h, const char *tenant, const char *topic,
			     const char *user, int64_t now, int64_t *n)
{
	*n = 0;
	/* count(*) always gives a row */
	return one(pg_run(pgs(h), S_USER_TOPIC_COUNT, "counting a user's subscribed connections",
			  "ttti", tenant, topic, user, now), n) == STORE_ERROR ? STORE_ERROR
									: STORE_OK;
}

/* Ends a statement whose columns are a topic and (when with_presence) its flag, calling fn per row until it returns non-zero. */
static int walk_topics(PGresult *res, int with_presence, subs_topic_fn fn, void *arg)
{
	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *topic = pg_str(res, i, 0);

		if (topic && fn(arg, topic, with_presence ? pg_int(res, i, 1) != 0 : 0) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

int pg_subs_connection_topics(struct store *h, const char *connection_id, subs_topic_fn fn,
			      void *arg)
{
	return walk_topics(pg_run(pgs(h), S_CONNECTION_TOPICS, "listing a connection's topics", "t",
				  connection_id), 1, fn, arg);
}

int pg_subs_presence_watchers(struct store *h, const char *tenant, const char *topic,
			      int64_t now, subs_id_fn fn, void *arg)
{
	return walk(pg_run(pgs(h), S_PRESENCE_WATCHERS, "listing a topic's presence watchers", "tti",
			   tenant, topic, now), fn, arg);
}

int pg_subs_patterns(struct store *h, const char *tenant, int64_t now, subs_topic_fn fn,
		     void *arg)
{
	return walk_topics(pg_run(pgs(h), S_PATTERNS, "listing a tenant's pattern topics", "ti",
				  tenant, now), 0, fn, arg);
}
