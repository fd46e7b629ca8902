/* handlers.c - the built-in actions echo, health and whoami, and the payload helper of all built-in actions. */
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "store.h"
#include "util.h"

int action_echo(struct call *c, json_t **data, struct proto_error *err)
{
	char ts[32];

	time_rfc3339(c->now_ms, ts);
	*data = json_pack("{s:O?,s:s,s:s}", "echo", c->msg->payload, "action", "echo",
			  "received_at", ts);
	if (!*data) {
		proto_error_set(err, ERR_INTERNAL, "Could not build the echo response");
		return -1;
	}
	return 0;
}

int action_health(struct call *c, json_t **data, struct proto_error *err)
{
	char ts[32];
	int db = store_ping(c->app->store) == STORE_OK;

	time_rfc3339(c->now_ms, ts);
	*data = json_pack("{s:s,s:s,s:s,s:{s:s}}", "status", db ? "healthy" : "degraded",
			  "timestamp", ts, "version", PACKAGE_VERSION,
			  "checks", "database", db ? "ok" : "failing");
	if (!*data) {
		proto_error_set(err, ERR_INTERNAL, "Could not build the health response");
		return -1;
	}
	return 0;
}

/* The caller's own identity as the server knows it. */
int action_whoami(struct call *c, json_t **data, struct proto_error *err)
{
	char ts[32];

	time_rfc3339(c->conn->connected_at, ts);
	*data = json_pack("{s:s,s:s,s:s,s:O,s:s}", "connection_id", c->conn->id,
			  "user_id", c->conn->user_id, "tenant_id", c->conn->tenant_id,
			  "permissions", c->permissions, "connected_at", ts);
	if (!*data) {
		proto_error_set(err, ERR_INTERNAL, "Could not build the whoami response");
		return -1;
	}
	return 0;
}

const char *payload_string(struct call *c, const char *key, size_t max, struct proto_error *err)
{
	json_t *v = json_object_get(c->msg->payload, key);
	const char *s = json_string_value(v);

	if (!json_is_object(c->msg->payload)) {
		proto_error_set(err, ERR_VALIDATION, "payload must be an object with a %s string", key);
		return NULL;
	}
	if (!s || !*s || strlen(s) > max) {
		proto_error_set(err, ERR_VALIDATION, "payload.%s must be a string of 1 to %zu bytes",
				key, max);
		return NULL;
	}
	return s;
}
