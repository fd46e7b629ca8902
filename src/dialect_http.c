/* dialect_http.c - plain HTTP ingress: POST …/connect|message|disconnect with X-Connection-Id, GET …/healthz. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "dialect.h"
#include "fanout.h"
#include "protocol.h"
#include "secret.h"
#include "stats.h"
#include "store.h"
#include "util.h"

const char *path_last_segment(const char *path)
{
	size_t len = strlen(path);
	const char *p;

	/* Ignore one trailing slash: "/x/connect/" is "connect". */
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (p = path + len; p > path && p[-1] != '/'; p--)
		;
	return p;
}

/* True when the last segment of path is exactly name (ignoring a trailing slash). */
static int segment_is(const char *path, const char *name)
{
	const char *seg = path_last_segment(path);
	size_t n = strlen(name);

	return strncmp(seg, name, n) == 0 && (seg[n] == '\0' || (seg[n] == '/' && seg[n + 1] == '\0'));
}

/* How long a worker reuses its last callback probe: a load balancer may ask every second. */
#define HEALTH_PROBE_REUSE_MS 5000

/* The callback probe (push_probe's 0, 1 or -1), made at most once per HEALTH_PROBE_REUSE_MS per worker. */
static int callback_probe(struct app *app)
{
	int64_t now = time_now_ms();
	char why[300];

	if (app->health_probe_at_ms && now >= app->health_probe_at_ms &&
	    now - app->health_probe_at_ms < HEALTH_PROBE_REUSE_MS)
		return app->health_probe_rc;
	app->health_probe_rc = fanout_probe(app->fanout, why, sizeof why);
	app->health_probe_at_ms = now;
	return app->health_probe_rc;
}

/*
 * GET /healthz: 200 when every component works, else 503 naming the failing
 * ones. database: a read answers (no write lock is taken, so a busy writer
 * does not make the check wait); callback: the callback URL accepts a
 * connection and its circuit breaker is closed ("not configured" is not a
 * failure; "degraded", some of several Pushpin nodes do not, is not either:
 * pushes still reach the others). States only: no URL, path or error text
 * reaches the client.
 */
static void healthz(struct app *app, struct response *resp)
{
	json_t *checks = json_object(), *failing = json_array();
	int probe;

	if (store_ping(app->store) == STORE_OK) {
		json_object_set_new(checks, "database", json_string("ok"));
	} else {
		json_object_set_new(checks, "database", json_string("failing"));
		json_array_append_new(failing, json_string("database"));
	}
	if (!fanout_configured(app->fanout)) {
		json_object_set_new(checks, "callback", json_string("not configured"));
	} else if ((probe = callback_probe(app)) >= 0) {
		json_object_set_new(checks, "callback", json_string(probe ? "degraded" : "ok"));
	} else {
		json_object_set_new(checks, "callback", json_string("failing"));
		json_array_append_new(failing, json_string("callback"));
	}
	if (json_array_size(failing) == 0) {
		json_decref(failing);
		response_json(resp, 200, json_pack("{s:s,s:s,s:o}", "status", "ok", "version",
						   PACKAGE_VERSION, "checks", checks));
	} else {
		response_json(resp, http_status_of(ERR_HTTP_UNAVAILABLE),
			      json_pack("{s:s,s:s,s:o,s:o}", "status", "failing", "version",
					PACKAGE_VERSION, "failing", failing, "checks", checks));
	}
}

/* True when the web server's peer is a loopback address (127.0.0.0/8 or ::1). */
static int peer_is_loopback(const struct request *req)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!req->remote_addr)
		return 0;
	if (inet_pton(AF_INET, req->remote_addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, req->remote_addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

/*
 * GET /metrics: the host's shared counters and histograms (every worker and
 * processor) plus gauges read from the store, in Prometheus text format.
 * With STREAMER_METRICS_TOKEN set, only for Authorization: Bearer <token>;
 * without it only for a loopback peer that did not come through a proxy
 * (no Grip-Sig, no X-Forwarded-For), else 403.
 */
static void metrics_endpoint(struct app *app, struct request *req, struct response *resp)
{
	struct gauges g = { 0 };
	const char *tok = app->cfg.metrics_token;

	if (!tok && (!peer_is_loopback(req) || req->grip_sig || req->forwarded_for)) {
		response_error(resp, ERR_FORBIDDEN,
			       "GET /metrics is served to loopback only; set STREAMER_METRICS_TOKEN to scrape from elsewhere");
		return;
	}
	if (tok) {
		const char *auth = req->authorization;

		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
		    !ct_equal(auth + 7, strlen(auth + 7), tok, strlen(tok))) {
			response_header(resp, "WWW-Authenticate", "Bearer realm=\"metrics\"");
			response_error(resp, ERR_UNAUTHORIZED, "GET /metrics needs the metrics bearer token");
			return;
		}
	}
	if (stats_gauges(app->store, time_now_ms(), &g) != STORE_OK) {
		response_error(resp, ERR_HTTP_UNAVAILABLE, "The database does not answer");
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&resp->body);
	stats_render(&resp->body, &g);
	stats_render_limits(&resp->body, &app->cfg);
}

/* Answers the messages of one client message, one JSON object per line. */
static void ndjson(struct response *resp, int status, json_t *msgs)
{
	size_t i;
	json_t *m;

	resp->status = status;
	resp->content_type = "application/x-ndjson";
	buf_reset(&resp->body);
	json_array_foreach(msgs, i, m) {
		char *text = proto_dump(m);

		buf_puts(&resp->body, text ? text : "null");
		buf_putc(&resp->body, '\n');
		free(text);
	}
}

void dialect_http(struct app *app, struct request *req, struct response *resp)
{
	const char *id = req->x_connection_id;
	int post = strcmp(req->method, "POST") == 0;
	enum { CONNECT, MESSAGE, DISCONNECT } what;
	int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	/*
	 * A Grip-Sig means the request came through Pushpin, from anyone on the
	 * internet: Pushpin is routed to the workers only for the WebSocket path
	 * and GET /healthz, and this keeps it so when a route or a path trick
	 * (/public/../metrics) gets a plain request through anyway.
	 */
	if (req->grip_sig && !(get && segment_is(req->path, "healthz"))) {
		response_error(resp, ERR_NOT_FOUND, "Not found");
		return;
	}
	if (segment_is(req->path, "healthz")) {
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
			response_error(resp, ERR_HTTP_METHOD, "Use GET for healthz");
		else
			healthz(app, resp);
		return;
	}
	if (segment_is(req->path, "metrics")) {
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
			response_error(resp, ERR_HTTP_METHOD, "Use GET for metrics");
		else
			metrics_endpoint(app, req, resp);
		return;
	}
	if (segment_is(req->path, "connect"))
		what = CONNECT;
	else if (segment_is(req->path, "message"))
		what = MESSAGE;
	else if (segment_is(req->path, "disconnect"))
		what = DISCONNECT;
	else {
		response_error(resp, ERR_NOT_FOUND, "Not found: use POST …/connect, …/message, …/disconnect or GET …/healthz");
		return;
	}
	if (!post) {
		response_error(resp, ERR_HTTP_METHOD, "Use POST");
		return;
	}
	if (!id) {
		response_error(resp, ERR_VALIDATION, "Missing X-Connection-Id header");
		return;
	}
	if (!conn_id_valid(id)) {
		response_error(resp, ERR_VALIDATION,
			       "Invalid X-Connection-Id: use 1 to 128 characters of [A-Za-z0-9._:-]");
		return;
	}

	if (what != CONNECT && !req->x_connection_secret) {
		response_error(resp, ERR_UNAUTHORIZED,
			       "Missing X-Connection-Secret header (the connection_secret that connect returned)");
		return;
	}

	switch (what) {
	case CONNECT: {
		struct conn_record rec;
		struct conn_reject rej;
		char secret[SECRET_HEX_LEN + 1];
		json_t *subscribed, *answer;

		/* The id alone proves nothing: message and disconnect must show this secret. */
		secret_new(secret);
		if (conn_open(app, req, id, secret, &rec, &subscribed, &rej) < 0) {
			response_error(resp, rej.code, rej.message);
			return;
		}
		answer = json_pack("{s:s,s:s,s:s,s:s,s:s}", "message", "Connected successfully",
				   "connection_id", rec.id, "connection_secret", secret, "user_id",
				   rec.user_id, "tenant_id", rec.tenant_id);
		if (subscribed)
			json_object_set_new(answer, "subscriptions", subscribed);
		response_json(resp, 200, answer);
		response_header(resp, "Cache-Control", "no-store");
		conn_record_free(&rec);
		return;
	}
	case MESSAGE: {
		struct conn_reply r;

		conn_message(app, id, req->x_connection_secret, req->body.data ? req->body.data : "",
			     req->body.len, &r);
		ndjson(resp, r.gone ? http_status_of(ERR_UNAUTHORIZED) : 200, r.messages);
		conn_reply_free(&r);
		return;
	}
	case DISCONNECT: {
		int rc = conn_close(app, id, req->x_connection_secret, "http", -1);

		if (rc > 0)
			response_error(resp, ERR_UNAUTHORIZED, "Unknown connection or wrong X-Connection-Secret");
		else if (rc < 0)
			response_error(resp, ERR_INTERNAL, "Failed to disconnect; please retry");
		else
			response_json(resp, 200, json_pack("{s:s}", "message", "Disconnected successfully"));
		return;
	}
	}
}
