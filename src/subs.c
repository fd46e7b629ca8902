/* subs.c - topic subscriptions and push-target lookups on the SQLite store (sql/004_subscriptions.sql). */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"
#include "subs.h"
#include "util.h"

/* X(name, sql): every statement, prepared once by subs_open; the comment says what binds. */
#define SUBS_STATEMENTS(X) \
	/* ?1 connection_id ?2 topic */ \
	X(S_EXISTS, "SELECT 1 FROM subscriptions WHERE connection_id = ?1 AND topic = ?2") \
	/* ?1 connection_id */ \
	X(S_COUNT, "SELECT count(*) FROM subscriptions WHERE connection_id = ?1") \
	/* ?1 connection_id ?2 tenant ?3 topic ?4 now; nothing when the connection is gone */ \
	X(S_ADD, \
	  "INSERT INTO subscriptions (connection_id, tenant_id, topic, created_at) " \
	  "SELECT id, ?2, ?3, ?4 FROM connections WHERE id = ?1 AND tenant_id = ?2 " \
	  "ON CONFLICT DO NOTHING RETURNING 1") \
	/* ?1 connection_id ?2 topic */ \
	X(S_REMOVE, "DELETE FROM subscriptions WHERE connection_id = ?1 AND topic = ?2 RETURNING 1") \
	/* ?1 tenant ?2 topic ?3 now */ \
	X(S_TOPIC, \
	  "SELECT s.connection_id FROM subscriptions s JOIN connections c ON c.id = s.connection_id " \
	  "WHERE s.tenant_id = ?1 AND s.topic = ?2 AND c.expires_at > ?3") \
	/* ?1 tenant ?2 user ?3 now */ \
	X(S_USER, \
	  "SELECT id FROM connections WHERE tenant_id = ?1 AND user_id = ?2 AND expires_at > ?3") \
	/* ?1 tenant ?2 now */ \
	X(S_TENANT, "SELECT id FROM connections WHERE tenant_id = ?1 AND expires_at > ?2") \
	/* ?1 now ?2 limit */ \
	X(S_EXPIRED, \
	  "SELECT id FROM connections WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2")

enum subs_stmt {
#define X(name, sql) name,
	SUBS_STATEMENTS(X)
#undef X
	S_COUNT_ALL
};

static const char *const subs_sql[S_COUNT_ALL] = {
#define X(name, sql) [name] = sql,
	SUBS_STATEMENTS(X)
#undef X
};

struct subs {
	struct store *store;
	sqlite3_stmt *stmt[S_COUNT_ALL];
};

int subs_topic_valid(const char *topic)
{
	return topic && str_is_token(topic, strlen(topic), SUBS_TOPIC_MAX, "._:-");
}

struct subs *subs_open(struct store *s)
{
	struct subs *u = xcalloc(1, sizeof *u);
	sqlite3 *db = store_sqlite_db(s);

	u->store = s;
	for (int i = 0; i < S_COUNT_ALL; i++) {
		if (sqlite3_prepare_v3(db, subs_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &u->stmt[i],
				       NULL) != SQLITE_OK) {
			store_sqlite_fail(s, "preparing the subscription statements");
			subs_close(u);
			return NULL;
		}
	}
	return u;
}

void subs_close(struct subs *u)
{
	if (!u)
		return;
	for (int i = 0; i < S_COUNT_ALL; i++)
		sqlite3_finalize(u->stmt[i]);
	free(u);
}

/* Steps a statement that returns at most one row: STORE_OK with a row (*value = column 0), STORE_NOTFOUND without. */
static int step_one(struct subs *u, sqlite3_stmt *st, const char *what, int64_t *value)
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
		ret = store_sqlite_fail(u->store, what);
	}
	store_sqlite_done(st);
	return ret;
}

int subs_add(struct subs *u, const char *connection_id, const char *tenant, const char *topic,
	     int max, int64_t now, enum subs_add_result *result)
{
	int64_t n = 0;
	int rc;

	if (store_sqlite_bind(u->store, u->stmt[S_EXISTS], "tt", connection_id, topic) != STORE_OK)
		return STORE_ERROR;
	rc = step_one(u, u->stmt[S_EXISTS], "looking up a subscription", NULL);
	if (rc != STORE_NOTFOUND) {
		*result = SUBS_ALREADY;
		return rc;
	}
	if (store_sqlite_bind(u->store, u->stmt[S_COUNT], "t", connection_id) != STORE_OK ||
	    step_one(u, u->stmt[S_COUNT], "counting subscriptions", &n) == STORE_ERROR)
		return STORE_ERROR;
	if (n >= max) {
		*result = SUBS_LIMIT;
		return STORE_OK;
	}
	if (store_sqlite_bind(u->store, u->stmt[S_ADD], "ttti", connection_id, tenant, topic,
			      now) != STORE_OK)
		return STORE_ERROR;
	rc = step_one(u, u->stmt[S_ADD], "adding a subscription", NULL);
	*result = SUBS_ADDED;
	return rc;
}

int subs_remove(struct subs *u, const char *connection_id, const char *topic)
{
	if (store_sqlite_bind(u->store, u->stmt[S_REMOVE], "tt", connection_id, topic) != STORE_OK)
		return STORE_ERROR;
	return step_one(u, u->stmt[S_REMOVE], "removing a subscription", NULL);
}

int subs_count(struct subs *u, const char *connection_id, int *n)
{
	int64_t v = 0;

	if (store_sqlite_bind(u->store, u->stmt[S_COUNT], "t", connection_id) != STORE_OK ||
	    step_one(u, u->stmt[S_COUNT], "counting subscriptions", &v) == STORE_ERROR)
		return STORE_ERROR;
	*n = (int)v;
	return STORE_OK;
}

int subs_collect(void *strvec, const char *connection_id)
{
	strvec_push(strvec, connection_id);
	return 0;
}

/* Runs a bound statement whose column 0 is a connection id, calling fn per row. */
static int walk(struct subs *u, sqlite3_stmt *st, const char *what, subs_id_fn fn, void *arg)
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
		store_sqlite_fail(u->store, what);
		store_sqlite_done(st);
		return STORE_ERROR;
	}
	store_sqlite_done(st);
	return STORE_OK;
}

int subs_topic_members(struct subs *u, const char *tenant, const char *topic, int64_t now,
		       subs_id_fn fn, void *arg)
{
	if (store_sqlite_bind(u->store, u->stmt[S_TOPIC], "tti", tenant, topic, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_TOPIC], "listing a topic's subscribers", fn, arg);
}

int subs_user_connections(struct subs *u, const char *tenant, const char *user, int64_t now,
			  subs_id_fn fn, void *arg)
{
	if (store_sqlite_bind(u->store, u->stmt[S_USER], "tti", tenant, user, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_USER], "listing a user's connections", fn, arg);
}

int subs_tenant_connections(struct subs *u, const char *tenant, int64_t now, subs_id_fn fn,
			    void *arg)
{
	if (store_sqlite_bind(u->store, u->stmt[S_TENANT], "ti", tenant, now) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_TENANT], "listing a tenant's connections", fn, arg);
}

int subs_expired_connections(struct subs *u, int64_t now, int limit, subs_id_fn fn, void *arg)
{
	if (store_sqlite_bind(u->store, u->stmt[S_EXPIRED], "ii", now, (int64_t)limit) != STORE_OK)
		return STORE_ERROR;
	return walk(u, u->stmt[S_EXPIRED], "listing expired connections", fn, arg);
}
