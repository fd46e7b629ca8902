/* api.c - the server HTTP API (/api/v1/…) for the application's other services: send, broadcast, close, connections, presence, history, batch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "api.h"
#include "conn.h"
#include "fanout.h"
#include "history.h"
#include "log.h"
#include "protocol.h"
#include "serverops.h"
#include "store.h"
#include "streams.h"
#include "subs.h"
#include "util.h"

#define API_PREFIX "/api/v1/"
/* Items of one batch at most, and connections one listing returns at most (and by default). */
#define API_BATCH_MAX 100
#define API_LIST_MAX 1000
#define API_LIST_DEFAULT 100
/* Message text one history answer holds at most (no Pushpin in between, unlike the client's). */
#define API_HISTORY_BYTES (1024 * 1024)
/* A close frame's reason: 125 bytes of payload less the 2-byte code. */
#define API_REASON_MAX 123

/* Who is calling: a key (every tenant) or an admin JWT (its own tenant only). */
struct api_caller {
	char label[320];     /* "key#<n>" or "jwt:<sub>@<tenant>" for the log */
	char *tenant;        /* the JWT's tenant; NULL = every tenant (an API key) */
};

/* One call in hand: the process, the caller and the operations. */
struct api_ctx {
	struct app *app;
	const struct api_caller *who;
	struct serverops ops;
};

/* A route's answer: its status and JSON body. */
struct api_result {
	int status;
	json_t *body;
};

typedef void (*api_fn)(struct api_ctx *x, json_t *body, const char *query, struct api_result *r);

/* Sets r to the error {"error":{"code","message"[,"field"]}}; returns -1. */
static int PRINTF_LIKE(4, 5) api_fail(struct api_result *r, enum err_code code, const char *field,
				      const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_decref(r->body);
	e = json_pack("{s:s,s:s}", "code", err_code_name(code), "message", msg);
	if (field)
		json_object_set_new(e, "field", json_string(field));
	r->status = http_status_of(code);
	r->body = json_pack("{s:o}", "error", e);
	return -1;
}

static void api_ok(struct api_result *r, json_t *body)
{
	r->status = 200;
	r->body = body;
}

/* A store failure (why: NULL = the store's last error): the reason goes to the log, never to the caller. */
static void api_store_failed(struct api_ctx *x, const char *why, struct api_result *r)
{
	log_msg(LOG_ERROR, "store_error", "%s", why ? why : store_errmsg(x->app->store));
	api_fail(r, ERR_INTERNAL, NULL, "Internal error; please retry");
}

/* A failed push or close: why may name the callback URL, so only the log has it. */
static void api_push_failed(struct api_result *r, const char *route, const char *why)
{
	struct buf b = { 0 };

	str_redact_credentials(&b, why);
	log_event(LOG_WARN, "api_push_failed", json_pack("{s:s,s:s}", "route", route, "reason", b.data));
	buf_free(&b);
	api_fail(r, ERR_HTTP_UNAVAILABLE, NULL, "Could not deliver through the callback URL; retry later");
}

/* Field kinds: what a string member must look like. */
enum field_kind { F_TENANT, F_USER, F_CONNECTION, F_TOPIC, F_STREAM, F_TEXT };

static int field_ok(enum field_kind k, const char *s)
{
	size_t n = strlen(s);

	switch (k) {
	case F_TENANT: return str_is_token(s, n, 128, "._@-");
	case F_USER: return n >= 1 && n <= 256;
	case F_CONNECTION: return conn_id_valid(s);
	case F_TOPIC: return subs_topic_valid(s);
	case F_STREAM: return n >= 1 && n <= HISTORY_STREAM_MAX;
	case F_TEXT: return 1;
	}
	return 0;
}

static const char *field_rule(enum field_kind k)
{
	switch (k) {
	case F_TENANT: return "a tenant id, [A-Za-z0-9._@-]{1,128}";
	case F_USER: return "a user id of 1 to 256 bytes";
	case F_CONNECTION: return "a connection id, [A-Za-z0-9._:-]{1,128}";
	case F_TOPIC: return "a topic, [A-Za-z0-9._:-]{1,128}";
	case F_STREAM: return "a stream name (user:<tenant>:<user>, tenant:<tenant> or topic:<tenant>:<topic>)";
	case F_TEXT: return "a string";
	}
	return "";
}

/* The string member field of body, checked as kind; *out NULL when absent and optional. 0, or -1 with r set. */
static int body_field(json_t *body, const char *field, enum field_kind k, int required,
		      const char **out, struct api_result *r)
{
	json_t *v = json_object_get(body, field);

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!v)
		return api_fail(r, ERR_VALIDATION, field, "%s is required: %s", field, field_rule(k));
	if (!json_is_string(v) || !field_ok(k, json_string_value(v)))
		return api_fail(r, ERR_VALIDATION, field, "%s must be %s", field, field_rule(k));
	*out = json_string_value(v);
	return 0;
}

/* The query parameter field (decoded, new string in *out, NULL when absent and optional). 0, or -1 with r set. */
static int query_field(const char *query, const char *field, enum field_kind k, int required,
		       char **out, struct api_result *r)
{
	*out = query_param(query, field);
	if (!*out && !required)
		return 0;
	if (!*out)
		return api_fail(r, ERR_VALIDATION, field, "query parameter %s is required: %s", field,
				field_rule(k));
	if (!**out || !field_ok(k, *out)) {
		free(*out);
		*out = NULL;
		return api_fail(r, ERR_VALIDATION, field, "query parameter %s must be %s", field,
				field_rule(k));
	}
	return 0;
}

/* The query parameter "limit": 1..max, def when absent. 0, or -1 with r set. */
static int query_limit(const char *query, int64_t def, int64_t max, int64_t *out,
		       struct api_result *r)
{
	char *v = query_param(query, "limit"), *end;
	long long n;

	*out = def;
	if (!v)
		return 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || n < 1 || n > max) {
		free(v);
		return api_fail(r, ERR_VALIDATION, "limit", "limit must be an integer from 1 to %lld",
				(long long)max);
	}
	free(v);
	*out = n;
	return 0;
}

/* 0 when the caller may act on tenant (a key may on any; a JWT on its own), else -1 with 403. */
static int tenant_open(struct api_ctx *x, const char *tenant, struct api_result *r)
{
	if (!x->who->tenant || strcmp(x->who->tenant, tenant) == 0)
		return 0;
	return api_fail(r, ERR_FORBIDDEN, "tenant", "This token may act on tenant %s only",
			x->who->tenant);
}

/*
 * 0 when connection id exists and the caller may act on its tenant; else
 * -1 with r set (404 for an absent connection, and for one of a tenant the
 * caller may not see: its existence is not the caller's to learn).
 */
static int connection_open(struct api_ctx *x, const char *id, struct api_result *r)
{
	struct conn_record rec = { 0 };
	int rc = store_conn_get(x->app->store, id, &rec);

	if (rc == STORE_ERROR) {
		api_store_failed(x, NULL, r);
		return -1;
	}
	if (rc == STORE_OK && x->who->tenant && strcmp(x->who->tenant, rec.tenant_id) != 0)
		rc = STORE_NOTFOUND;
	conn_record_free(&rec);
	if (rc == STORE_NOTFOUND)
		return api_fail(r, ERR_NOT_FOUND, "connection", "No connection %s", id);
	return 0;
}

/* {"stream","epoch","offset"} of a numbered message, plus extra (stolen). */
static json_t *position_of(json_t *msg, json_t *extra)
{
	json_object_update_new(extra, json_pack("{s:O?,s:O?,s:O?}", "stream", json_object_get(msg, "stream"),
						"epoch", json_object_get(msg, "epoch"), "offset",
						json_object_get(msg, "offset")));
	return extra;
}

/* An ops_* outcome that is not OPS_OK as the answer. */
static void ops_failed(struct api_ctx *x, int rc, const char *route, const char *field,
		       const char *why, struct api_result *r)
{
	if (rc == OPS_NOTFOUND)
		api_fail(r, ERR_NOT_FOUND, field, "%s", why);
	else if (rc == OPS_STORE_ERROR)
		api_store_failed(x, why, r);
	else if (!fanout_configured(x->app->fanout))
		api_fail(r, ERR_HTTP_UNAVAILABLE, NULL, "Pushes are not configured (STREAMER_CALLBACK_URL)");
	else
		api_push_failed(r, route, why);
}

/* POST send {"connection","data"} or {"user","tenant","data"}: as `streamer send`. */
static void api_send(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	const char *conn, *user, *tenant;
	json_t *data = json_object_get(body, "data");
	struct fanout_result res = { 0 };
	char why[512] = "";
	int rc;

	(void)query;
	if (body_field(body, "connection", F_CONNECTION, 0, &conn, r) < 0 ||
	    body_field(body, "user", F_USER, 0, &user, r) < 0 ||
	    body_field(body, "tenant", F_TENANT, 0, &tenant, r) < 0)
		return;
	if (!conn == !(user && tenant) || (conn && (user || tenant))) {
		api_fail(r, ERR_VALIDATION, conn ? "user" : "connection",
			 "give either connection, or user and tenant");
		return;
	}
	if (!json_is_object(data)) {
		api_fail(r, ERR_VALIDATION, "data",
			 "data is required: a JSON object (it gets the fields stream, offset and epoch)");
		return;
	}
	if (conn) {
		if (connection_open(x, conn, r) < 0)
			return;
		rc = ops_send_connection(&x->ops, conn, data, &res, why, sizeof why);
	} else {
		if (tenant_open(x, tenant, r) < 0)
			return;
		rc = ops_send_user(&x->ops, tenant, user, data, &res, why, sizeof why);
	}
	if (rc != OPS_OK) {
		ops_failed(x, rc, "send", conn ? "connection" : "user", why, r);
		return;
	}
	api_ok(r, position_of(data, json_pack("{s:I}", "sent", (json_int_t)(res.items - res.stale))));
}

/* POST broadcast {"tenant","topic"?,"data"}: as `streamer broadcast`. */
static void api_broadcast(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	const char *tenant, *topic;
	json_t *data = json_object_get(body, "data"), *msg;
	struct fanout_result res = { 0 };
	char why[512] = "";
	int rc;

	(void)query;
	if (body_field(body, "tenant", F_TENANT, 1, &tenant, r) < 0 ||
	    body_field(body, "topic", F_TOPIC, 0, &topic, r) < 0 || tenant_open(x, tenant, r) < 0)
		return;
	if (!data || (!topic && !json_is_object(data))) {
		api_fail(r, ERR_VALIDATION, "data", topic ? "data is required (any JSON value)"
							 : "data is required: without a topic, a JSON object (pushed as given)");
		return;
	}
	msg = topic ? proto_event(topic, json_incref(data), time_now_ms()) : json_incref(data);
	rc = ops_broadcast(&x->ops, tenant, topic, msg, &res, why, sizeof why);
	if (rc != OPS_OK)
		ops_failed(x, rc, "broadcast", NULL, why, r);
	else
		api_ok(r, position_of(msg, json_pack("{s:b,s:I}", "published", 1, "items",
						     (json_int_t)res.items)));
	json_decref(msg);
}

/* POST close {"connection","code"?,"reason"?}: as `streamer close`. */
static void api_close(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	const char *conn, *reason;
	json_t *code = json_object_get(body, "code");
	long c = 1000;
	char why[512] = "";
	int rc;

	(void)query;
	if (body_field(body, "connection", F_CONNECTION, 1, &conn, r) < 0 ||
	    body_field(body, "reason", F_TEXT, 0, &reason, r) < 0)
		return;
	if (code && (!json_is_integer(code) || !ops_close_code_valid((long)json_integer_value(code)))) {
		api_fail(r, ERR_VALIDATION, "code", "code must be a WebSocket close code a client may receive "
			 "(1000-1003, 1007-1014, 3000-4999)");
		return;
	}
	if (code)
		c = (long)json_integer_value(code);
	if (reason && strlen(reason) > API_REASON_MAX) {
		api_fail(r, ERR_VALIDATION, "reason", "reason is at most %d bytes (a close frame's limit)",
			 API_REASON_MAX);
		return;
	}
	if (connection_open(x, conn, r) < 0)
		return;
	rc = ops_close(&x->ops, conn, (int)c, reason ? reason : "closed by the server", why, sizeof why);
	if (rc != OPS_OK)
		ops_failed(x, rc, "close", "connection", why, r);
	else
		api_ok(r, json_pack("{s:s,s:i}", "closed", conn, "code", (int)c));
}

/* What one connections listing gathers. */
struct listing {
	const char *user;
	int64_t now, limit;
	json_t *list;
	int truncated;
};

static int list_one(const struct conn_record *c, void *arg)
{
	struct listing *l = arg;
	json_t *o, *perms;

	if (c->expires_at <= l->now || (l->user && strcmp(c->user_id, l->user) != 0))
		return 0;
	if ((int64_t)json_array_size(l->list) >= l->limit) {
		l->truncated = 1;
		return 1;
	}
	perms = json_loads(c->permissions ? c->permissions : "[]", 0, NULL);
	o = json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:I}", "id", c->id, "user_id", c->user_id,
		      "tenant_id", c->tenant_id, "permissions", json_is_array(perms) ? perms : json_array(),
		      "connected_at", (json_int_t)c->connected_at, "last_active_at",
		      (json_int_t)c->last_active_at, "expires_at", (json_int_t)c->expires_at,
		      "messages_received", (json_int_t)c->messages_received, "messages_sent",
		      (json_int_t)c->messages_sent);
	if (!json_is_array(perms))
		json_decref(perms);
	if (c->user_agent)
		json_object_set_new(o, "user_agent", json_string(c->user_agent));
	if (c->source_addr)
		json_object_set_new(o, "source_addr", json_string(c->source_addr));
	json_array_append_new(l->list, o);
	return 0;
}

/* GET connections?tenant=&user=&limit=: the tenant's live connections (of user), oldest first. */
static void api_connections(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	char *tenant = NULL, *user = NULL;
	struct listing l = { 0 };

	(void)body;
	if (query_field(query, "tenant", F_TENANT, 1, &tenant, r) < 0 ||
	    query_field(query, "user", F_USER, 0, &user, r) < 0 ||
	    query_limit(query, API_LIST_DEFAULT, API_LIST_MAX, &l.limit, r) < 0 ||
	    tenant_open(x, tenant, r) < 0)
		goto out;
	l.user = user;
	l.now = time_now_ms();
	l.list = json_array();
	if (store_conn_list(x->app->store, tenant, list_one, &l) != STORE_OK) {
		json_decref(l.list);
		api_store_failed(x, NULL, r);
		goto out;
	}
	api_ok(r, json_pack("{s:o,s:b}", "connections", l.list, "truncated", l.truncated));
out:
	free(tenant);
	free(user);
}

/* GET presence?tenant=&topic=: as the client's presence action, for any topic of the tenant. */
static void api_presence(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	char *tenant = NULL, *topic = NULL;
	json_t *answer;

	(void)body;
	if (query_field(query, "tenant", F_TENANT, 1, &tenant, r) < 0 ||
	    query_field(query, "topic", F_TOPIC, 1, &topic, r) < 0 || tenant_open(x, tenant, r) < 0)
		goto out;
	answer = fanout_presence_json(x->app->fanout, tenant, topic, time_now_ms(), 0);
	if (answer)
		api_ok(r, answer);
	else
		api_store_failed(x, NULL, r);
out:
	free(tenant);
	free(topic);
}

/*
 * The tenant (and for a user stream the user) a stream name belongs to,
 * into rec's borrowed fields pointing into buf; 0, or -1 when the name has
 * none of the three shapes.
 */
static int stream_owner(const char *stream, char *buf, size_t buflen, struct conn_record *rec)
{
	char *colon;

	snprintf(buf, buflen, "%s", stream);
	if (strncmp(buf, "tenant:", 7) == 0) {
		rec->tenant_id = buf + 7;
		rec->user_id = "";
		return 0;
	}
	if (strncmp(buf, "user:", 5) != 0 && strncmp(buf, "topic:", 6) != 0)
		return -1;
	rec->tenant_id = strchr(buf, ':') + 1;
	if (!(colon = strchr(rec->tenant_id, ':')))
		return -1;
	*colon = '\0';
	rec->user_id = colon + 1;
	return 0;
}

/* The query parameter since: "<epoch>:<offset>" or "<offset>" (any epoch). 0, or -1 with r set. */
static int query_since(const char *query, struct stream_since *since, struct api_result *r)
{
	char *v = query_param(query, "since"), *colon, *end;
	struct proto_error err = { 0 };
	json_t *o;
	long long off;
	int rc = 0;

	memset(since, 0, sizeof *since);
	if (!v)
		return 0;
	colon = strrchr(v, ':');
	off = strtoll(colon ? colon + 1 : v, &end, 10);
	if (colon)
		*colon = '\0';
	o = json_pack("{s:{s:s?,s:I}}", "since", "epoch", colon ? v : NULL, "offset", (json_int_t)off);
	if (*end || end == (colon ? colon + 1 : v) || stream_since_parse(o, "since", since, &err) < 0)
		rc = api_fail(r, ERR_VALIDATION, "since",
			      "since must be <epoch>:<offset> (%d lowercase hex digits, an integer >= 0) or <offset>",
			      HISTORY_EPOCH_LEN);
	proto_error_clear(&err);
	json_decref(o);
	free(v);
	return rc;
}

/* GET history?stream=&since=&limit=: a page of a stream, as the client's history action (every message). */
static void api_history(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	char *stream = NULL, owner[HISTORY_STREAM_MAX + 1];
	struct conn_record rec = { 0 };
	struct proto_error err = { 0 };
	struct stream_reader everyone = { 0 };
	struct stream_since since;
	struct history_limits lim;
	size_t budget = API_HISTORY_BYTES;
	json_t *page = NULL;
	int64_t limit;

	(void)body;
	if (query_field(query, "stream", F_STREAM, 1, &stream, r) < 0 ||
	    query_since(query, &since, r) < 0 ||
	    query_limit(query, STREAM_PAGE_DEFAULT, STREAM_PAGE_MAX, &limit, r) < 0)
		goto out;
	if (stream_owner(stream, owner, sizeof owner, &rec) < 0 || stream_readable(&rec, stream, &err) < 0) {
		api_fail(r, ERR_VALIDATION, "stream", "stream must be %s", field_rule(F_STREAM));
		goto out;
	}
	if (tenant_open(x, rec.tenant_id, r) < 0)
		goto out;
	lim = stream_limits(&x->app->cfg);
	if (stream_page(x->app->store, &lim, time_now_ms(), stream, &since, limit, &everyone, &budget,
			&page, &err) < 0) {
		api_store_failed(x, NULL, r);
		goto out;
	}
	json_object_set_new(page, "stream", json_string(stream));
	api_ok(r, page);
out:
	proto_error_clear(&err);
	free(stream);
}

static void api_batch(struct api_ctx *x, json_t *body, const char *query, struct api_result *r);

static const struct api_route {
	const char *name;
	const char *method;
	api_fn fn;
} routes[] = {
	{ "send", "POST", api_send },
	{ "broadcast", "POST", api_broadcast },
	{ "close", "POST", api_close },
	{ "connections", "GET", api_connections },
	{ "presence", "GET", api_presence },
	{ "history", "GET", api_history },
	{ "batch", "POST", api_batch },
};

/* True when route (api_route_of's) names name, with or without one trailing slash. */
static int route_is(const char *route, const char *name)
{
	size_t n = strlen(name);

	return strncmp(route, name, n) == 0 && (route[n] == '\0' || (route[n] == '/' && !route[n + 1]));
}

static const struct api_route *route_find(const char *route)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (route_is(route, routes[i].name))
			return &routes[i];
	return NULL;
}

const char *api_route_of(const char *path)
{
	const char *p = NULL, *hit;

	for (hit = strstr(path, API_PREFIX); hit; hit = strstr(hit + 1, API_PREFIX))
		p = hit;
	if (!p && (hit = strstr(path, "/api/v1")) && hit[7] == '\0')
		return hit + 7;
	return p ? p + strlen(API_PREFIX) : NULL;
}

/* Runs one route for method; the body must be a JSON object for POST routes. */
static void api_run(struct api_ctx *x, const char *method, const char *route, json_t *body,
		    const char *query, struct api_result *r)
{
	const struct api_route *rt = route_find(route);

	if (!rt) {
		api_fail(r, ERR_NOT_FOUND, NULL, "No API route %s%s: see docs/api.yaml", API_PREFIX, route);
		return;
	}
	if (strcmp(method, rt->method) != 0) {
		api_fail(r, ERR_HTTP_METHOD, NULL, "Use %s for %s%s", rt->method, API_PREFIX, rt->name);
		return;
	}
	if (strcmp(rt->method, "POST") == 0 && !json_is_object(body)) {
		api_fail(r, ERR_VALIDATION, NULL, "The body must be a JSON object");
		return;
	}
	rt->fn(x, body, query ? query : "", r);
}

/* POST batch {"requests":[{"method","path","body"?}, …]}: each run as its own call, answered in order. */
static void api_batch(struct api_ctx *x, json_t *body, const char *query, struct api_result *r)
{
	json_t *reqs = json_object_get(body, "requests"), *item, *out;
	size_t i;

	(void)query;
	if (!json_is_array(reqs) || json_array_size(reqs) < 1 || json_array_size(reqs) > API_BATCH_MAX) {
		api_fail(r, ERR_VALIDATION, "requests", "requests must be an array of 1 to %d calls",
			 API_BATCH_MAX);
		return;
	}
	out = json_array();
	json_array_foreach(reqs, i, item) {
		struct api_result one = { 0 };
		const char *method = json_string_value(json_object_get(item, "method"));
		const char *path = json_string_value(json_object_get(item, "path"));
		const char *route = path ? api_route_of(path) : NULL;
		char *p = NULL, *q = NULL;

		if (route) {
			p = xstrdup(route);
			if ((q = strchr(p, '?')))
				*q++ = '\0';
		}
		if (!json_is_object(item) || !method || !route) {
			api_fail(&one, ERR_VALIDATION, "path", "requests[%zu] must be {\"method\", \"path\": "
				 "\"/api/v1/…\", \"body\"}", i);
		} else if (route_is(p, "batch")) {
			api_fail(&one, ERR_VALIDATION, "path", "requests[%zu]: a batch cannot hold a batch", i);
		} else {
			api_run(x, method, p, json_object_get(item, "body"), q, &one);
		}
		json_array_append_new(out, json_pack("{s:i,s:o}", "status", one.status, "body", one.body));
		free(p);
	}
	api_ok(r, json_pack("{s:o}", "responses", out));
}

/* SHA-256 of s: keys are compared by their digests, so the time taken says nothing of them. */
static void digest(const char *s, unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256((const unsigned char *)s, strlen(s), out);
}

/* The bearer credential of the Authorization header (borrowed from it), or NULL. */
static const char *bearer_of(const char *h, size_t *len)
{
	const char *end;

	if (!h)
		return NULL;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ' || *h == '\t')
		h++;
	for (end = h + strlen(h); end > h && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*len = (size_t)(end - h);
	return *len ? h : NULL;
}

/* Authenticates req into who; 0, or -1 with r set (401, 403). */
static int api_auth(struct app *app, const struct request *req, struct api_caller *who,
		    struct api_result *r)
{
	unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
	struct auth_identity id = { 0 };
	size_t len = 0, match = 0, i;
	const char *b = bearer_of(req->authorization, &len);
	enum auth_error e;
	char *cred;
	json_t *p;
	int allowed = 0;

	if (!b)
		return api_fail(r, ERR_UNAUTHORIZED, NULL,
				"Missing Authorization: Bearer <API key or admin token>");
	cred = xstrndup(b, len);
	digest(cred, got);
	/* Every key is compared, whichever matches: no early exit. */
	for (i = 0; i < app->cfg.api_keys.n; i++) {
		digest(app->cfg.api_keys.v[i], want);
		if (CRYPTO_memcmp(want, got, sizeof want) == 0)
			match = i + 1;
	}
	if (match) {
		explicit_bzero(cred, len);
		free(cred);
		snprintf(who->label, sizeof who->label, "key#%zu", match);
		return 0;
	}
	e = conn_verify_token(app, cred, &id);
	explicit_bzero(cred, len);
	free(cred);
	if (e != AUTH_OK)
		return api_fail(r, ERR_UNAUTHORIZED, NULL, "Invalid API key or token%s%s",
				e == AUTH_MALFORMED ? "" : ": ", e == AUTH_MALFORMED ? "" : auth_error_message(e));
	json_array_foreach(id.permissions, i, p)
		if (json_is_string(p) && strcmp(json_string_value(p), app->cfg.api_permission) == 0)
			allowed = 1;
	snprintf(who->label, sizeof who->label, "jwt:%s@%s", id.sub, id.tenant);
	if (allowed)
		who->tenant = xstrdup(id.tenant);
	else
		api_fail(r, ERR_FORBIDDEN, NULL, "The token lacks the %s permission the server API requires",
			 app->cfg.api_permission);
	auth_identity_free(&id);
	return allowed ? 0 : -1;
}

void api_handle(struct app *app, struct request *req, struct response *resp)
{
	const char *route = api_route_of(req->path);
	struct api_caller who = { .label = "none" };
	struct api_ctx x = { app, &who, { &app->cfg, app->store, app->fanout, app->queue } };
	struct api_result r = { 0 };
	int64_t start = time_mono_us();
	json_t *body = NULL;

	if (api_auth(app, req, &who, &r) < 0)
		goto out;
	if (req->body_too_large || req->body.len > app->cfg.api_max_body) {
		api_fail(&r, ERR_PAYLOAD_TOO_LARGE, NULL, "The body is over %zu bytes (STREAMER_API_MAX_BODY)",
			 app->cfg.api_max_body);
		goto out;
	}
	if (strcmp(req->method, "POST") == 0) {
		json_error_t e;

		body = json_loadb(req->body.data ? req->body.data : "", req->body.len, 0, &e);
		if (!body) {
			api_fail(&r, ERR_VALIDATION, NULL, "The body is not JSON: %s (at character %d)", e.text,
				 e.position);
			goto out;
		}
	}
	api_run(&x, req->method, route, body, req->query, &r);
out:
	log_event(r.status >= 500 ? LOG_WARN : LOG_INFO, "api_call",
		  json_pack("{s:s,s:s,s:i,s:s,s:s?,s:I}", "method", req->method, "route", route,
			    "status", r.status, "auth", who.label, "source", req->remote_addr,
			    "duration_us", (json_int_t)(time_mono_us() - start)));
	response_json(resp, r.status, r.body);
	response_header(resp, "Cache-Control", "no-store");
	json_decref(body);
	free(who.tenant);
}

void api_print_routes(FILE *to)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		fprintf(to, "%s %s%s\n", routes[i].method, API_PREFIX, routes[i].name);
}
