/* dialect_ws.c - Pushpin WebSocket-over-HTTP: a batch of events in, a batch of events out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "protocol.h"
#include "dialect.h"
#include "log.h"
#include "metrics.h"
#include "wse.h"

/*
 * Pushpin drops the connection when a response body exceeds this many bytes
 * (RESPONSE_BODY_MAX in Pushpin's src/proxy/websocketoverhttp.cpp).
 */
#define PUSHPIN_MAX_BODY 1000000
/* WebSocket close code for a policy violation: used for unauthenticated connections. */
#define CLOSE_POLICY 1008
/* Close code (application range) for a connection whose token expired: the client reconnects with a new one. */
#define CLOSE_TOKEN_EXPIRED 4001

/*
 * Process state: the JSON text of one event at a time, reused so that an
 * answer costs no allocation per message. Reset before each use.
 */
static struct buf scratch;
/* A scratch buffer grown past this (a large answer) is given back after the batch. */
#define SCRATCH_KEEP 65536

/* Appends msg as a TEXT event of prefix + its JSON text; returns -1 (nothing appended) when it cannot be serialised. */
static int put_json(struct buf *out, const char *prefix, const json_t *msg)
{
	buf_reset(&scratch);
	if (proto_dump_to(&scratch, msg) < 0)
		return -1;
	wse_put_text2(out, prefix, scratch.data, scratch.len);
	return 0;
}

/* Appends a GRIP control message ("c:" + JSON). */
static void put_control(struct buf *out, json_t *ctl)
{
	(void)put_json(out, "c:", ctl);
}

/* Appends a GRIP control message subscribing the connection to channel prefix + name. */
static void put_subscribe(struct buf *out, const char *prefix, const char *name)
{
	struct buf channel = {0};
	json_t *ctl;

	buf_puts(&channel, prefix);
	buf_puts(&channel, name);
	ctl = json_pack("{s:s,s:s}", "type", "subscribe", "channel", channel.data);
	put_control(out, ctl);
	json_decref(ctl);
	buf_free(&channel);
}

/*
 * The whole answer to one batch stays under PUSHPIN_MAX_BODY. A message is
 * only handled while its answer surely fits: out.len + its own length +
 * ANSWER_SLACK (the envelope, controls) + SKIP_ROOM. From the first one
 * that does not, the rest of the batch's messages are not handled but
 * answered with a small RATE_LIMITED error each (in SKIP_ROOM), so the
 * client resends them, in order, in its next batch. CLOSE_ROOM is always
 * kept for a closing CLOSE event when even those errors do not fit.
 */
#define ANSWER_SLACK 8192
#define SKIP_ROOM 65536
#define CLOSE_ROOM 256
#define CLOSE_TOO_BIG 1009
/* How long a client waits before it resends a message the batch had no room for. */
#define BATCH_RETRY_MS 50

/*
 * Appends reply as an "m:"-prefixed TEXT event if out stays within limit
 * bytes, else an error in its place (an answer larger than it may be).
 * Returns -1 when not even that fits (nothing appended).
 */
static int put_message(struct buf *out, json_t *reply, size_t limit)
{
	buf_reset(&scratch);
	if (proto_dump_to(&scratch, reply) < 0 || out->len + scratch.len + 64 > limit) {
		struct proto_error err = {0};
		json_t *rid = json_object_get(reply, "request_id");
		json_t *e;
		int rc;

		proto_error_set(&err, ERR_PAYLOAD_TOO_LARGE,
				"Response exceeds the proxy's %d-byte limit", PUSHPIN_MAX_BODY);
		e = proto_error(json_string_value(rid), &err);
		buf_reset(&scratch);
		rc = proto_dump_to(&scratch, e);
		json_decref(e);
		if (rc < 0 || out->len + scratch.len + 64 > limit)
			return -1;
	}
	wse_put_text2(out, "m:", scratch.data, scratch.len);
	return 0;
}

/* The answer to a message the batch has no room to handle: resend it (it was not routed). */
static json_t *batch_full_reply(struct app *app, const struct wse_event *e)
{
	struct client_msg msg = {0};
	struct proto_error err = {0};
	json_t *reply;
	int ok;

	ok = proto_parse(e->data, e->len, app->cfg.max_message_bytes, &msg, &err) == 0;
	proto_error_rate_limited(&err, "batch", BATCH_RETRY_MS,
				 "Batch answer too large for the proxy; resend this message");
	reply = proto_error(ok && msg.id_generated ? NULL : msg.id, &err);
	proto_error_clear(&err);
	client_msg_free(&msg);
	metrics_add("streamer_rate_limited_total", "limit=\"batch\"", 1);
	return reply;
}

static void bad_request(struct response *resp, const char *why)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "Malformed websocket-events request: %s", why);
	response_error(resp, ERR_VALIDATION, msg);
}

/*
 * The server-side subscriptions of a new connection (conn_open's
 * subscribed, stolen): a subscribe control per channel (the topic's stream
 * name, "topic:<tenant>:<name or pattern>"), then one message telling the
 * client {"type":"subscriptions","server_side":true,"topics":[…]}.
 */
/* 1 when a pattern item of subscribed (conn_open's list) covers topic. */
static int covered(json_t *subscribed, const char *topic)
{
	json_t *t;
	size_t i;

	json_array_foreach(subscribed, i, t)
		if (json_object_get(t, "pattern") &&
		    topic_pattern_covers(json_string_value(json_object_get(t, "topic")), topic))
			return 1;
	return 0;
}

static void put_server_subscriptions(struct buf *out, const struct conn_record *rec,
				     json_t *subscribed)
{
	char prefix[160];
	json_t *t, *msg;
	size_t i;

	snprintf(prefix, sizeof prefix, "topic:%s:", rec->tenant_id);
	json_array_foreach(subscribed, i, t) {
		const char *topic = json_string_value(json_object_get(t, "topic"));

		/* A name a pattern of the list covers comes through the pattern's channel (one copy). */
		if (json_object_get(t, "pattern") || !covered(subscribed, topic))
			put_subscribe(out, prefix, topic);
	}
	msg = json_pack("{s:s,s:b,s:o}", "type", "subscriptions", "server_side", 1, "topics",
			subscribed);
	put_message(out, msg, PUSHPIN_MAX_BODY);
	json_decref(msg);
}

void dialect_ws(struct app *app, struct request *req, struct response *resp)
{
	const char *id = req->connection_id;
	struct wse_event *ev = NULL;
	struct buf out = {0};
	size_t count = 0;
	char why[128];
	int done = 0, skipping = 0, full = 0;
	size_t i;

	if (strcmp(req->method, "POST") != 0) {
		response_error(resp, ERR_HTTP_METHOD, "websocket-events requests must be POST");
		return;
	}
	if (!conn_id_valid(id)) {
		bad_request(resp, "missing or invalid Connection-Id header");
		return;
	}
	if (wse_parse(req->body.data ? req->body.data : "", req->body.len, &ev, &count,
		      why, sizeof(why)) < 0) {
		log_event(LOG_WARN, "bad_request",
			  json_pack("{s:s,s:s}", "connection_id", id, "reason", why));
		bad_request(resp, why);
		return;
	}
	/* An idle connection whose token expired is closed at its next keep-alive. */
	if (count == 0 && conn_keepalive(app, id))
		wse_put_close(&out, CLOSE_TOKEN_EXPIRED, "token expired");

	for (i = 0; i < count && !done && !full; i++) {
		struct wse_event *e = &ev[i];

		if ((e->type == WSE_TEXT || e->type == WSE_BINARY) &&
		    (skipping || out.len + e->len + ANSWER_SLACK + SKIP_ROOM > PUSHPIN_MAX_BODY)) {
			json_t *reply = batch_full_reply(app, e);

			skipping = 1;
			full = put_message(&out, reply, PUSHPIN_MAX_BODY - CLOSE_ROOM) < 0;
			json_decref(reply);
			continue;
		}
		switch (e->type) {
		case WSE_OPEN: {
			struct conn_record rec;
			struct conn_reject rej;
			json_t *subscribed;

			if (conn_open(app, req, id, NULL, &rec, &subscribed, &rej) < 0) {
				/* The refusal is the client's handshake answer: drop anything built so far. */
				response_error(resp, rej.code, rej.message);
				goto out;
			}
			wse_put(&out, WSE_OPEN);
			put_subscribe(&out, "conn:", rec.id);
			put_subscribe(&out, "tenant:", rec.tenant_id);
			if (subscribed)
				put_server_subscriptions(&out, &rec, subscribed);
			response_header(resp, "Sec-WebSocket-Extensions", "grip");
			if (app->cfg.keepalive_interval > 0) {
				char n[16];
				snprintf(n, sizeof(n), "%d", app->cfg.keepalive_interval);
				response_header(resp, "Keep-Alive-Interval", n);
			}
			conn_record_free(&rec);
			break;
		}
		case WSE_TEXT: {
			struct conn_reply r;
			size_t k;
			json_t *m;

			conn_message(app, id, NULL, e->data, e->len, &r);
			/* Controls first: a subscription is in place before the client reads the reply. */
			json_array_foreach(r.controls, k, m)
				put_control(&out, m);
			json_array_foreach(r.messages, k, m)
				if (put_message(&out, m, PUSHPIN_MAX_BODY - CLOSE_ROOM) < 0)
					full = 1;
			int gone = r.gone, expired = r.token_expired;
			conn_reply_free(&r);
			if (gone) {
				if (expired)
					wse_put_close(&out, CLOSE_TOKEN_EXPIRED, "token expired");
				else
					wse_put_close(&out, CLOSE_POLICY, "unauthenticated");
				done = 1;
			}
			break;
		}
		case WSE_BINARY: {
			json_t *reply = proto_error_text(NULL, ERR_VALIDATION,
							 "Binary messages are not supported; send JSON text");

			if (put_message(&out, reply, PUSHPIN_MAX_BODY - CLOSE_ROOM) < 0)
				full = 1;
			json_decref(reply);
			break;
		}
		case WSE_PING:
			if (out.len + e->len + 32 > PUSHPIN_MAX_BODY - CLOSE_ROOM)
				full = 1;
			else if (e->has_content)
				wse_put_content(&out, WSE_PONG, e->data, e->len);
			else
				wse_put(&out, WSE_PONG);
			break;
		case WSE_PONG:
			break;
		case WSE_CLOSE: {
			uint16_t code = 0;
			const char *reason;
			size_t rlen;
			int has = wse_close_code(e, &code, &reason, &rlen);

			(void)conn_close(app, id, NULL, "close", has ? code : -1);
			/* Echo the close: Pushpin then finishes the closing handshake. */
			if (e->has_content)
				wse_put_content(&out, WSE_CLOSE, e->data, e->len);
			else
				wse_put(&out, WSE_CLOSE);
			done = 1;
			break;
		}
		case WSE_DISCONNECT:
			(void)conn_close(app, id, NULL, "disconnect", -1);
			done = 1;
			break;
		}
	}
	if (full) {
		/* Not even a small error fits: close rather than answer over the limit. */
		log_event(LOG_WARN, "batch_too_large",
			  json_pack("{s:s,s:I,s:I}", "connection_id", id, "events", (json_int_t)count,
				    "answered", (json_int_t)i));
		(void)conn_close(app, id, NULL, "batch_too_large", CLOSE_TOO_BIG);
		wse_put_close(&out, CLOSE_TOO_BIG, "batch answer too large; send fewer messages at once");
	}
	resp->status = 200;
	resp->content_type = WSE_CONTENT_TYPE;
	/* The answer becomes the body as it is: no copy. */
	buf_free(&resp->body);
	resp->body = out;
	memset(&out, 0, sizeof(out));
out:
	buf_free(&out);
	free(ev);
	if (scratch.cap > SCRATCH_KEEP)
		buf_free(&scratch);
}
