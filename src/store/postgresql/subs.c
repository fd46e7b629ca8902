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
		const char *topic, int max, int64_t now, enum subs_add_result *result)
{
	struct pg_store *u = pgs(h);
	int64_t n = 0;
	int rc;

	rc = one(pg_run(u, S_EXISTS, "looking up a subscription", "tt", connection_id, topic), NULL);
	if (rc != STORE_NOTFOUND) {
		*result = SUBS_ALREADY;
		return rc;
	}
	if (one(pg_run(u, S_COUNT, "counting subscriptions", "t", connection_id), &n) ==
	    STORE_ERROR)
		return STORE_ERROR;
	if (n >= max) {
		*result = SUBS_LIMIT;
		return STORE_OK;
	}
	rc = one(pg_run(u, S_ADD, "adding a subscription", "ttti", connection_id, tenant, topic,
			now), NULL);
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
