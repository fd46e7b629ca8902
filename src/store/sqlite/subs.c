/* subs.c - the SQLite engine's topic subscriptions and push-target lookups (sql/004_subscriptions.sql): the subs_* ops. */
#include "sqlite_int.h"

/* Steps a statement that returns at most one row: STORE_OK with a row (*value = column 0), STORE_NOTFOUND without. */
static int step_one(struct sqlite_store *u, sqlite3_stmt *st, const char *what, int64_t *value)
{
	int rc = sqlite3_step(st);
	int ret;

	if (rc == SQLITE_ROW) {
		if (value)
			*value = sqlite3_column_int64(st, 0);
		ret = STORE_OK;
	} else if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
	} else {
		ret = sqlite_fail(u, what);
	}
	sqlite_done(st);
	return ret;
}

int sqlite_subs_add(struct store *h, const char *connection_id, const char *tenant,
		    const char *topic, int presence, int max, int64_t now,
		    enum subs_add_result *result)
{
	struct sqlite_store *u = sq(h);
	int64_t n = 0, had = 0;
	int rc;

	if (sqlite_bind(u, u->stmt[S_EXISTS], "tt", connection_id, topic) != STORE_OK)
		return STORE_ERROR;
	rc = step_one(u, u->stmt[S_EXISTS], "looking up a subscription", &had);
	if (rc != STORE_NOTFOUND) {
		*result = SUBS_ALREADY;
		if (rc != STORE_OK || had == presence)
			return rc;
		if (sqlite_bind(u, u->stmt[S_SET_PRESENCE], "tti", connection_id, topic,
				(int64_t)presence) != STORE_OK)
			return STORE_ERROR;
		return sqlite_run_exec(u, S_SET_PRESENCE, "setting a subscription's presence");
	}
	if (sqlite_bind(u, u->stmt[S_COUNT], "t", connection_id) != STORE_OK ||
	    step_one(u, u->stmt[S_COUNT], "counting subscriptions", &n) == STORE_ERROR)
		return STORE_ERROR;
	if (n >= max) {
		*result = SUBS_LIMIT;
		return STORE_OK;
	}
	if (sqlite_bind(u, u->stmt[S_ADD], "tttiii", connection_id, tenant, topic, now,
			(int64_t)presence, (int64_t)subs_topic_is_pattern(topic)) != STORE_OK)
		return STORE_ERROR;
	rc = step_one(u, u->stmt[S_ADD], "adding a subscription", NULL);
	*result = SUBS_ADDED;
	return rc;
}

int sqlite_subs_remove(struct store *h, const char *connection_id, const char *topic)
{
	struct sqlite_store *u = sq(h);
	if (sqlite_bind(u, u->stmt[S_REMOVE], "tt", connection_id, topic) != STORE_OK)
		return STORE_ERROR;
	return step_one(u, u->stmt[S_REMOVE], "removing a subscription", NULL);
}

/* Runs a bound statement whose column 0 is a connection id, calling fn per row. */
static int walk(struct sqlite_store *u, sqlite3_stmt *st, const char *what, subs_id_fn fn,
		void *arg)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (id && fn(arg, id) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sqlite_fail(u, what);
		sqlite_done(st);
		return STORE_ERROR;
	}
	sqlite_done(st);
	return STORE_OK;
}

int sqlite_subs_topic_members(struct store *h, const char *tenant, const char *topic, int64_t now,
		       subs_id_fn fn, void *arg)
{
	struct sqlite_store *u = sq(h);
	if (sqlite_bind(u, u->stmt[S_TOPIC], "tti", tenant, topic, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_TOPIC], "listing a topic's subscribers", fn, arg);
}

int sqlite_subs_user_connections(struct store *h, const char *tenant, const char *user, int64_t now,
			  subs_id_fn fn, void *arg)
{
	struct sqlite_store *u = sq(h);
	if (sqlite_bind(u, u->stmt[S_USER], "tti", tenant, user, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_USER], "listing a user's connections", fn, arg);
}

int sqlite_subs_tenant_connections(struct store *h, const char *tenant, int64_t now, subs_id_fn fn,
			    void *arg)
{
	struct sqlite_store *u = sq(h);
	if (sqlite_bind(u, u->stmt[S_TENANT], "ti", tenant, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_TENANT], "listing a tenant's connections", fn, arg);
}

int sqlite_subs_expired_connections(struct store *h, int64_t now, int limit, subs_id_fn fn,
				    void *arg)
{
	struct sqlite_store *u = sq(h);
	if (sqlite_bind(u, u->stmt[S_EXPIRED], "ii", now, (int64_t)limit) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_EXPIRED], "listing expired connections", fn, arg);
}

int sqlite_subs_presence(struct store *h, const char *tenant, const char *topic, int64_t now,
			 int limit, subs_user_fn fn, void *arg)
{
	struct sqlite_store *u = sq(h);
	sqlite3_stmt *st = u->stmt[S_PRESENCE];
	int rc;

	if (sqlite_bind(u, st, "ttii", tenant, topic, now, (int64_t)limit) != STORE_OK)
		return STORE_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *user = (const char *)sqlite3_column_text(st, 0);

		if (user && fn(arg, user, sqlite3_column_int64(st, 1)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		sqlite_fail(u, "listing a topic's presence");
	sqlite_done(st);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int sqlite_subs_presence_count(struct store *h, const char *tenant, const char *topic,
			       int64_t now, int64_t *users, int64_t *connections)
{
	struct sqlite_store *u = sq(h);
	sqlite3_stmt *st = u->stmt[S_PRESENCE_COUNT];
	int ret = STORE_OK;

	*users = *connections = 0;
	if (sqlite_bind(u, st, "tti", tenant, topic, now) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*users = sqlite3_column_int64(st, 0);
		*connections = sqlite3_column_int64(st, 1);
	} else {
		ret = sqlite_fail(u, "counting a topic's presence");
	}
	sqlite_done(st);
	return ret;
}

int sqlite_subs_user_topic_count(struct store *h, const char *tenant, const char *topic,
				 const char *user, int64_t now, int64_t *n)
{
	struct sqlite_store *u = sq(h);

	*n = 0;
	if (sqlite_bind(u, u->stmt[S_USER_TOPIC_COUNT], "ttti", tenant, topic, user, now) !=
	    STORE_OK)
		return STORE_ERROR;
	/* count(*) always gives a row */
	return step_one(u, u->stmt[S_USER_TOPIC_COUNT], "counting a user's subscribed connections",
			n) == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

/* Runs a bound statement whose columns are a topic and (when with_presence) its flag, calling fn per row. */
static int walk_topics(struct sqlite_store *u, sqlite3_stmt *st, const char *what,
		       int with_presence, subs_topic_fn fn, void *arg)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *topic = (const char *)sqlite3_column_text(st, 0);
		int presence = with_presence ? sqlite3_column_int(st, 1) != 0 : 0;

		if (topic && fn(arg, topic, presence) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		sqlite_fail(u, what);
	sqlite_done(st);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int sqlite_subs_connection_topics(struct store *h, const char *connection_id, subs_topic_fn fn,
				  void *arg)
{
	struct sqlite_store *u = sq(h);

	if (sqlite_bind(u, u->stmt[S_CONNECTION_TOPICS], "t", connection_id) != STORE_OK)
		return STORE_ERROR;
	return walk_topics(u, u->stmt[S_CONNECTION_TOPICS], "listing a connection's topics", 1, fn,
			   arg);
}

int sqlite_subs_presence_watchers(struct store *h, const char *tenant, const char *topic,
				  int64_t now, subs_id_fn fn, void *arg)
{
	struct sqlite_store *u = sq(h);

	if (sqlite_bind(u, u->stmt[S_PRESENCE_WATCHERS], "tti", tenant, topic, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_PRESENCE_WATCHERS], "listing a topic's presence watchers", fn,
		    arg);
}

int sqlite_subs_patterns(struct store *h, const char *tenant, int64_t now, subs_topic_fn fn,
			 void *arg)
{
	struct sqlite_store *u = sq(h);

	if (sqlite_bind(u, u->stmt[S_PATTERNS], "ti", tenant, now) != STORE_OK)
		return STORE_ERROR;
	return walk_topics(u, u->stmt[S_PATTERNS], "listing a tenant's pattern topics", 0, fn, arg);
}
