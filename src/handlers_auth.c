/* handlers_auth.c - auth.refresh: a client extends its connection with a new token of the same identity, without reconnecting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "conn.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "util.h"

/*
 * payload {"token": "<jwt>"}. The token is verified exactly as at connect;
 * it must name the connection's own sub and tenant_id. The connection then
 * takes the new token's permissions and expiry. The token is never logged
 * nor echoed.
 */
int action_auth_refresh(struct call *c, json_t **data, struct proto_error *err)
{
	const char *token = payload_string(c, "token", AUTH_MAX_TOKEN, err);
	struct auth_identity who = {0};
	struct conn_record rec = {0};
	enum auth_error e;
	char *perms = NULL, *claims = NULL;
	char ts[32];
	int rc = -1, st;

	if (!token)
		return -1;
	e = conn_verify_token(c->app, token, &who);
	if (e != AUTH_OK) {
		proto_error_set(err, ERR_UNAUTHORIZED, "%s", auth_error_message(e));
		log_event(LOG_WARN, "refresh_rejected",
			  json_pack("{s:s,s:s,s:s,s:s}", "connection_id", c->conn->id, "user",
				    c->conn->user_id, "outcome", "UNAUTHORIZED", "reason",
				    auth_error_label(e)));
		return -1;
	}
	if (strcmp(who.sub, c->conn->user_id) != 0 || strcmp(who.tenant, c->conn->tenant_id) != 0 ||
	    !config_tenant_allowed(&c->app->cfg, who.tenant)) {
		proto_error_set(err, ERR_FORBIDDEN,
				"The new token must be for the same user (sub) and tenant (tenant_id)");
		log_event(LOG_WARN, "refresh_rejected",
			  json_pack("{s:s,s:s,s:s,s:s}", "connection_id", c->conn->id, "user",
				    c->conn->user_id, "outcome", "FORBIDDEN", "reason", "other_identity"));
		goto out;
	}
	perms = json_dumps(who.permissions, JSON_COMPACT);
	claims = conn_topic_claims(&who);
	st = store_conn_refresh(c->app->store, c->conn->id, perms ? perms : "[]", claims,
				conn_token_limit_ms(who.exp, c->app->cfg.jwt_leeway), c->now_ms,
				/* a refresh is a touch: TTL + one interval ahead (conn.c) */
				c->app->cfg.connection_ttl * 1000 + c->app->cfg.touch_interval_ms, &rec);
	if (st != STORE_OK) {
		proto_error_set(err, st == STORE_NOTFOUND ? ERR_UNAUTHORIZED : ERR_INTERNAL,
				st == STORE_NOTFOUND ? "Connection is not authenticated or has expired"
						     : "Could not refresh the connection; please retry");
		goto out;
	}
	time_rfc3339(who.exp > INT64_MAX / 1000 ? INT64_MAX : who.exp * 1000, ts);
	*data = json_pack("{s:s}", "expires_at", ts);
	if (!*data) {
		proto_error_set(err, ERR_INTERNAL, "Could not build the refresh response");
		goto out;
	}
	log_event(LOG_INFO, "refresh",
		  json_pack("{s:s,s:s,s:s,s:s}", "connection_id", c->conn->id, "user", who.sub,
			    "tenant", who.tenant, "expires_at", ts));
	rc = 0;
out:
	free(perms);
	free(claims);
	conn_record_free(&rec);
	auth_identity_free(&who);
	return rc;
}
