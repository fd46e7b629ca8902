/* dialect_http.c - plain HTTP ingress: POST …/connect|message|disconnect with X-Connection-Id, GET …/healthz. */
#include <stdlib.h>
#include <string.h>

#include "autoconfig.h"

#include "conn.h"
#include "protocol.h"
#include "dialect.h"
#include "store.h"

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

static void healthz(struct app *app, struct response *resp)
{
	int ok = store_ping(app->store) == STORE_OK;

	response_json(resp, ok ? 200 : 503,
		      json_pack("{s:s,s:s,s:{s:s}}", "status", ok ? "ok" : "failing",
				"version", PACKAGE_VERSION, "checks", "database", ok ? "ok" : "failing"));
}

/* One JSON object per line: the messages that dialect 1 would have pushed. */
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

	if (segment_is(req->path, "healthz")) {
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
			response_error(resp, 405, "VALIDATION_ERROR", "Use GET for healthz");
		else
			healthz(app, resp);
		return;
	}
	if (segment_is(req->path, "connect"))
		what = CONNECT;
	else if (segment_is(req->path, "message"))
		what = MESSAGE;
	else if (segment_is(req->path, "disconnect"))
		what = DISCONNECT;
	else {
		response_error(resp, 404, "NOT_FOUND", "Not found: use POST …/connect, …/message, …/disconnect or GET …/healthz");
		return;
	}
	if (!post) {
		response_error(resp, 405, "VALIDATION_ERROR", "Use POST");
		return;
	}
	if (!id) {
		response_error(resp, 400, "VALIDATION_ERROR", "Missing X-Connection-Id header");
		return;
	}
	if (!conn_id_valid(id)) {
		response_error(resp, 400, "VALIDATION_ERROR",
			       "Invalid X-Connection-Id: use 1 to 128 characters of [A-Za-z0-9._:-]");
		return;
	}

	switch (what) {
	case CONNECT: {
		struct conn_record rec;
		struct conn_reject rej;

		if (conn_open(app, req, id, &rec, &rej) < 0) {
			response_error(resp, rej.status, rej.code, rej.message);
			return;
		}
		response_json(resp, 200, json_pack("{s:s,s:s,s:s,s:s}", "message", "Connected successfully",
						   "connection_id", rec.id, "user_id", rec.user_id,
						   "tenant_id", rec.tenant_id));
		conn_record_free(&rec);
		return;
	}
	case MESSAGE: {
		struct conn_reply r;

		conn_message(app, id, req->body.data ? req->body.data : "", req->body.len, &r);
		ndjson(resp, r.gone ? 401 : 200, r.messages);
		conn_reply_free(&r);
		return;
	}
	case DISCONNECT:
		conn_close(app, id, "http", -1);
		response_json(resp, 200, json_pack("{s:s}", "message", "Disconnected successfully"));
		return;
	}
}
