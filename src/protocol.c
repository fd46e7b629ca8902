/* protocol.c - the client JSON protocol: validate inbound messages, build outbound ones. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"
#include "protocol.h"
#include "util.h"

/*
 * Each code once: its name on the wire, the HTTP status of a refusal that
 * carries it, and whether a handler may give it (STREAMER_E_* of
 * <streamer/handler.h>).
 */
static const struct {
	const char *name;
	int http_status;
	bool handler;
} codes[] = {
	[ERR_VALIDATION] = { "VALIDATION_ERROR", 400, true },
	[ERR_INVALID_ACTION] = { "INVALID_ACTION", 400, false },
	[ERR_UNAUTHORIZED] = { "UNAUTHORIZED", 401, false },
	[ERR_FORBIDDEN] = { "FORBIDDEN", 403, true },
	[ERR_NOT_FOUND] = { "NOT_FOUND", 404, true },
	[ERR_PAYLOAD_TOO_LARGE] = { "PAYLOAD_TOO_LARGE", 413, false },
	[ERR_RATE_LIMITED] = { "RATE_LIMITED", 429, true },
	[ERR_TIMEOUT] = { "TIMEOUT", 504, true },
	[ERR_PROCESSING_FAILED] = { "PROCESSING_FAILED", 500, true },
	[ERR_CANCELLED] = { "CANCELLED", 409, true },
	[ERR_INTERNAL] = { "INTERNAL_ERROR", 500, false },
	[ERR_HTTP_METHOD] = { "VALIDATION_ERROR", 405, false },
	[ERR_HTTP_CONFLICT] = { "CONFLICT", 409, false },
	[ERR_HTTP_UNAVAILABLE] = { "INTERNAL_ERROR", 503, false },
};

const char *err_code_name(enum err_code code)
{
	if ((size_t)code < ARRAY_SIZE(codes) && codes[code].name)
		return codes[code].name;
	return "INTERNAL_ERROR";
}

int http_status_of(enum err_code code)
{
	if ((size_t)code < ARRAY_SIZE(codes) && codes[code].http_status)
		return codes[code].http_status;
	return 500;
}

enum err_code err_code_of_handler(const char *code, enum err_code fallback)
{
	for (size_t i = 0; code && i < ARRAY_SIZE(codes); i++)
		if (codes[i].handler && strcmp(code, codes[i].name) == 0)
			return (enum err_code)i;
	return fallback;
}

enum err_code err_code_of_sync_handler(const char *code)
{
	enum err_code c = err_code_of_handler(code, ERR_PROCESSING_FAILED);

	return c == ERR_RATE_LIMITED ? ERR_PROCESSING_FAILED : c;
}

/* Length of the UTF-8 sequence a lead byte starts, 0 for a continuation or invalid byte. */
static size_t utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 0;
}

/* Cuts s[0..len) back so that it does not end inside a UTF-8 sequence. */
static void utf8_trim(char *s, size_t len)
{
	size_t i = len, back = 0;

	while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--, back++;
	if (i == 0)
		return;
	/* s[i - 1] starts the last sequence; drop it if it needs more bytes than remain. */
	size_t need = utf8_seq_len((unsigned char)s[i - 1]);
	if (need > 1 && (i - 1) + need > len)
		s[i - 1] = '\0';
}

/* Formats e->message, cutting an over-long text at a UTF-8 boundary. */
static PRINTF_LIKE(2, 0) void set_message(struct proto_error *e, const char *fmt, va_list ap)
{
	int n = vsnprintf(e->message, sizeof(e->message), fmt, ap);

	if (n < 0)
		e->message[0] = '\0';
	else if ((size_t)n >= sizeof(e->message))
		utf8_trim(e->message, sizeof(e->message) - 1);
}

void proto_error_set(struct proto_error *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	json_decref(e->details);
	e->details = NULL;
	va_start(ap, fmt);
	set_message(e, fmt, ap);
	va_end(ap);
}

void proto_error_clear(struct proto_error *e)
{
	json_decref(e->details);
	e->details = NULL;
}

void proto_error_rate_limited(struct proto_error *e, const char *limit, int64_t retry_after_ms,
			      const char *fmt, ...)
{
	va_list ap;

	proto_error_set(e, ERR_RATE_LIMITED, "%s", "");
	va_start(ap, fmt);
	set_message(e, fmt, ap);
	va_end(ap);
	e->details = json_pack("{s:s,s:I}", "limit", limit, "retry_after_ms",
			       (json_int_t)(retry_after_ms < 1 ? 1 : retry_after_ms));
}

int proto_parse(const char *text, size_t len, size_t max, struct client_msg *msg,
		struct proto_error *err)
{
	json_t *root = NULL, *v;
	const char *s;
	size_t n;

	memset(msg, 0, sizeof(*msg));
	if (len > max) {
		proto_error_set(err, ERR_PAYLOAD_TOO_LARGE, "Message exceeds %zu bytes", max);
		goto fail;
	}
	/* DECODE_ANY so that valid JSON which is not an object gets the precise message. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!root) {
		proto_error_set(err, ERR_VALIDATION, "Invalid message format");
		goto fail;
	}
	if (!json_is_object(root)) {
		proto_error_set(err, ERR_VALIDATION, "Message must be a JSON object");
		goto fail;
	}

	/* The id first: every later refusal then carries it. */
	v = json_object_get(root, "id");
	if (v) {
		n = json_string_length(v);
		if (!json_is_string(v) || n < 1 || n > PROTO_ID_MAX) {
			proto_error_set(err, ERR_VALIDATION,
					"id must be a string of 1 to %d characters", PROTO_ID_MAX);
			goto fail;
		}
		/* jansson refuses \u0000 by default, so the id holds no NUL. */
		memcpy(msg->id, json_string_value(v), n);
		msg->id[n] = '\0';
	}

	v = json_object_get(root, "action");
	if (!json_is_string(v)) {
		proto_error_set(err, ERR_VALIDATION, "Missing or invalid action");
		goto fail;
	}
	s = json_string_value(v);
	if (!str_is_token(s, json_string_length(v), PROTO_ACTION_MAX, "._-")) {
		proto_error_set(err, ERR_VALIDATION, "Invalid action name");
		goto fail;
	}

	v = json_object_get(root, "metadata");
	if (v && !json_is_object(v)) {
		proto_error_set(err, ERR_VALIDATION, "metadata must be an object");
		goto fail;
	}

	if (!msg->id[0]) {
		memcpy(msg->id, "req_", 4);
		random_hex(msg->id + 4, 12);
		msg->id_generated = 1;
	}
	msg->root = root;
	msg->action = s;
	msg->payload = json_object_get(root, "payload");
	msg->metadata = v;
	return 0;
fail:
	json_decref(root);
	msg->root = NULL;
	return -1;
}

void client_msg_free(struct client_msg *msg)
{
	json_decref(msg->root);
	msg->root = NULL;
	msg->action = NULL;
	msg->payload = NULL;
	msg->metadata = NULL;
}

/* Starts an outbound message: {"type":type,"request_id":id|null}; type is an ASCII literal. */
static json_t *start(const char *type, const char *request_id)
{
	json_t *m = json_object();

	if (!m)
		return NULL;
	/* Keys and types are this file's ASCII literals: no UTF-8 check for them. */
	if (json_object_set_new_nocheck(m, "type", json_string_nocheck(type)) < 0 ||
	    json_object_set_new_nocheck(m, "request_id", request_id && request_id[0]
					? json_string(request_id) : json_null()) < 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *proto_response(const char *request_id, json_t *data)
{
	json_t *m = start("response", request_id);

	if (!m)
		goto fail;
	if (json_object_set_new_nocheck(m, "success", json_true()) < 0 ||
	    json_object_set_new_nocheck(m, "data", data ? data : json_null()) < 0) {
		/* set_new consumed data even on failure */
		json_decref(m);
		return NULL;
	}
	return m;
fail:
	json_decref(data);
	return NULL;
}

/* {"type":"error","request_id":…,"error":{"code","message"[,"details"]}}; details borrowed. */
static json_t *error_msg(const char *request_id, enum err_code code, const char *message,
			 json_t *details)
{
	json_t *m = start("error", request_id);
	json_t *e = json_object();
	json_t *text;

	if (!m || !e)
		goto fail;
	/* A message formatted from bad input may not be UTF-8: fall back to the code. */
	text = json_string(message);
	if (!text)
		text = json_string(err_code_name(code));
	if (json_object_set_new(e, "code", json_string(err_code_name(code))) < 0 ||
	    json_object_set_new(e, "message", text) < 0)
		goto fail;
	/* Our own reference: the caller keeps its own. */
	if (details && json_object_set(e, "details", details) < 0)
		goto fail;
	if (json_object_set_new(m, "error", e) < 0) {
		e = NULL; /* consumed */
		goto fail;
	}
	return m;
fail:
	json_decref(e);
	json_decref(m);
	return NULL;
}

json_t *proto_error(const char *request_id, const struct proto_error *err)
{
	return error_msg(request_id, err->code, err->message, err->details);
}

json_t *proto_error_text(const char *request_id, enum err_code code, const char *message)
{
	return error_msg(request_id, code, message, NULL);
}

/* Sets m[key] to value (stolen); on failure frees m and returns NULL, else returns m. */
static json_t *put(json_t *m, const char *key, json_t *value)
{
	if (!m) {
		json_decref(value);
		return NULL;
	}
	if (!value || json_object_set_new(m, key, value) < 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/* Sets m["timestamp"] to at_ms as RFC 3339. */
static json_t *put_time(json_t *m, int64_t at_ms)
{
	char ts[32];

	time_rfc3339(at_ms, ts);
	return put(m, "timestamp", json_string(ts));
}

json_t *proto_acknowledgment(const char *request_id, const char *status, const char *message)
{
	json_t *m = start("acknowledgment", request_id);

	m = put(m, "status", json_string(status));
	return put(m, "message", json_string(message));
}

json_t *proto_progress(const char *request_id, int pct, const char *message, json_t *metadata,
		       int64_t at_ms)
{
	json_t *m = start("progress", request_id);

	m = put(m, "percentage", json_integer(pct));
	m = put(m, "message", json_string(message ? message : ""));
	m = put_time(m, at_ms);
	if (metadata)
		m = put(m, "metadata", json_incref(metadata));
	return m;
}

json_t *proto_complete(const char *request_id, json_t *result, int64_t at_ms)
{
	json_t *m = start("complete", request_id);

	m = put(m, "result", result ? result : json_null());
	return put_time(m, at_ms);
}

json_t *proto_event(const char *topic, json_t *data, int64_t at_ms)
{
	json_t *m = json_object();

	m = put(m, "type", json_string("event"));
	m = put(m, "topic", json_string(topic));
	m = put(m, "data", data ? data : json_null());
	return put_time(m, at_ms);
}

int proto_dump_to(struct buf *out, const json_t *msg)
{
	size_t old = out->len;

	/* As json_dumps without JSON_ENCODE_ANY: only an object or an array. */
	if ((json_is_object(msg) || json_is_array(msg)) && jsonw_value(out, msg) == 0)
		return 0;
	out->len = old;
	if (out->data)
		out->data[old] = '\0';
	return -1;
}

char *proto_dump(const json_t *msg)
{
	struct buf b = {0};

	if (proto_dump_to(&b, msg) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* [A-Za-z0-9._:-]{1,128}, as subs_topic_valid. */
static int topic_name_valid(const char *s, size_t n)
{
	return str_is_token(s, n, 128, "._:-");
}

int topic_pattern_valid(const char *s)
{
	size_t n = strlen(s);

	if (strcmp(s, "*") == 0)
		return 1;
	if (n >= 3 && strcmp(s + n - 2, ".*") == 0)
		return n <= 128 && topic_name_valid(s, n - 2);
	return topic_name_valid(s, n);
}

int topic_pattern_covers(const char *pattern, const char *topic)
{
	size_t n = strlen(pattern);

	if (strcmp(pattern, "*") == 0)
		return 1;
	if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
		return strncmp(topic, pattern, n - 1) == 0 && topic[n - 1] != '\0';
	return strcmp(pattern, topic) == 0;
}

int topic_list_covers(const json_t *list, const char *topic, int patterns_only)
{
	const json_t *p;
	size_t i;

	json_array_foreach(list, i, p) {
		const char *s = json_string_value(p);
		size_t n = s ? strlen(s) : 0;

		if (s && (!patterns_only || (n && s[n - 1] == '*')) && topic_pattern_covers(s, topic))
			return 1;
	}
	return 0;
}
