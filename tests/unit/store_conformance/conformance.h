/* conformance.h - what the store conformance suite shares: a fresh store per test, on any engine, through the store interface only. */
#ifndef STREAMER_CONFORMANCE_H
#define STREAMER_CONFORMANCE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "../tap.h"
#include "../tmpdir.h"

/*
 * The suite runs on the engine of STREAMER_TEST_STORE_URL (any STREAMER_DB
 * value, e.g. "postgresql://…" once that engine exists); each test then
 * first runs the shell command STREAMER_TEST_STORE_RESET, which must leave
 * that store empty (no rows, schema in place or absent). Unset, each test
 * gets a new SQLite file "sqlite:<TMPDIR>/store_conformance.XXXXXX/store.db",
 * removed at the end.
 *
 * Tests run one per process (tap.h), so these globals are per test.
 */
static char conf_dir[TMPDIR_MAX] __attribute__((unused));   /* the temporary directory, "" with STREAMER_TEST_STORE_URL */
static char conf_url[4300] __attribute__((unused));   /* the store every open of this test uses */

/* Whether this run is on the default temporary SQLite file (checks of its error texts). */
static inline int conf_default_sqlite(void)
{
	return conf_dir[0] != '\0';
}

/* Chooses the test's store (see above) and returns its URL; call once at the test's start. */
static inline const char *conf_setup(void)
{
	const char *url = getenv("STREAMER_TEST_STORE_URL");
	const char *reset = getenv("STREAMER_TEST_STORE_RESET");

	if (url && *url) {
		conf_dir[0] = '\0';
		snprintf(conf_url, sizeof conf_url, "%s", url);
		if (reset && *reset)
			CHECK(system(reset) == 0);
		return conf_url;
	}
	tmpdir_make(conf_dir, sizeof conf_dir, "store_conformance");
	snprintf(conf_url, sizeof conf_url, "sqlite:%s/store.db", conf_dir);
	return conf_url;
}

/*
 * Opens the test's store (creating it when missing); fails the test when it
 * cannot. Locks are waited for up to 10 s: several processes share it.
 */
static inline struct store *conf_open(void)
{
	struct store_options opt = { .busy_timeout_ms = 10000 };
	struct store *s = NULL;
	char err[512] = "";
	int rc = store_open(&s, conf_url, &opt, STORE_OPEN_CREATE, err, sizeof err);

	if (rc != 0)
		printf("# store_open %s: %s\n", conf_url, err);
	CHECK_INT(rc, 0);
	CHECK(s != NULL);
	return s;
}

/* Closes s (when non-NULL) and removes the temporary directory of the default store. */
static inline void conf_teardown(struct store *s)
{
	store_close(s);
	if (conf_dir[0])
		CHECK(tmpdir_remove(conf_dir) == 0);
}

/* A connection's expiry after its last activity, in the records of rec. */
#define TTL 60000

/* A connection record of user-1 in tenant, connected (and active) at connected_at. Strings borrowed. */
static inline struct conn_record rec(const char *id, const char *tenant, int64_t connected_at)
{
	struct conn_record r = {
		.id = (char *)id,
		.user_id = (char *)"user-1",
		.tenant_id = (char *)tenant,
		.permissions = (char *)"[\"read\",\"write\"]",
		.user_agent = NULL,
		.source_addr = (char *)"127.0.0.1",
		.connected_at = connected_at,
		.last_active_at = connected_at,
		.expires_at = connected_at + TTL,
	};
	return r;
}


/* store_conn_put that must succeed. */
static inline void put_ok(struct store *s, const struct conn_record *r)
{
	int rc = store_conn_put(s, r);

	if (rc != STORE_OK)
		printf("# put %s: %s\n", r->id, store_errmsg(s));
	CHECK_INT(rc, STORE_OK);
}


/* Checks that every field of two records but secret_hash is the same. */
static inline void check_same(const struct conn_record *a, const struct conn_record *b)
{
	CHECK_STR(a->id, b->id);
	CHECK_STR(a->user_id, b->user_id);
	CHECK_STR(a->tenant_id, b->tenant_id);
	CHECK_STR(a->permissions, b->permissions);
	if (a->user_agent || b->user_agent)
		CHECK_STR(a->user_agent, b->user_agent);
	if (a->source_addr || b->source_addr)
		CHECK_STR(a->source_addr, b->source_addr);
	CHECK_INT(a->connected_at, b->connected_at);
	CHECK_INT(a->last_active_at, b->last_active_at);
	CHECK_INT(a->expires_at, b->expires_at);
	CHECK_INT(a->messages_received, b->messages_received);
	CHECK_INT(a->messages_sent, b->messages_sent);
	CHECK_INT(a->token_expires_at, b->token_expires_at);
	CHECK((a->topic_claims == NULL) == (b->topic_claims == NULL));
	if (a->topic_claims || b->topic_claims)
		CHECK_STR(a->topic_claims, b->topic_claims);
}

#endif
