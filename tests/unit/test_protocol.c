/* test_protocol.c - unit tests for the client JSON protocol: validation errors, request ids, outbound messages. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "protocol.h"
#include "tap.h"
#include "util.h"

#define MAX 4096

/*
 * Parses text from an exact-size copy (no NUL after it, so ASan catches a
 * read past len) with the given limit. Returns proto_parse's result.
 */
static int parse_max(const char *text, size_t max, struct client_msg *msg,
		     struct proto_error *err)
{
	size_t n = strlen(text);
	char *copy = xmalloc(n);
	int rc;

	memcpy(copy, text, n);
	rc = proto_parse(copy, n, max, msg, err);
	free(copy); /* msg must not point into the text */
	return rc;
}

static int parse(const char *text, struct client_msg *msg, struct proto_error *err)
{
	return parse_max(text, MAX, msg, err);
}

/* Checks that text is refused with that code and message; leaves msg->id for the caller to check. */
#define REFUSED(text, msg, want_code, want_message) do { \
	struct proto_error err_ = {0}; \
	CHECK_INT(parse((text), (msg), &err_), -1); \
	CHECK_INT(err_.code, (want_code)); \
	CHECK_STR(err_.message, (want_message)); \
	CHECK((msg)->root == NULL); \
	CHECK(err_.details == NULL); \
	client_msg_free(msg); \
} while (0)

/* Serialises m, frees it, and compares with want. */
#define DUMPS(m, want) do { \
	json_t *m_ = (m); \
	char *s_ = proto_dump(m_); \
	CHECK_STR(s_, (want)); \
	free(s_); \
	json_decref(m_); \
} while (0)

static void test_code_names(void)
{
	static const char *const want[] = {
		"VALIDATION_ERROR", "INVALID_ACTION", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND",
		"PAYLOAD_TOO_LARGE", "RATE_LIMITED", "TIMEOUT", "PROCESSING_FAILED",
		"CANCELLED", "INTERNAL_ERROR",
	};

	CHECK_INT(ARRAY_SIZE(want), ERR_INTERNAL + 1);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_STR(err_code_name((enum err_code)i), want[i]);
	CHECK_STR(err_code_name((enum err_code)42), "INTERNAL_ERROR");
}

static void test_valid_message(void)
{
	struct client_msg msg;
	struct proto_error err = {0};

	CHECK_INT(parse("{\"action\":\"echo\",\"id\":\"r1\",\"payload\":{\"x\":[1,2]},"
			"\"metadata\":{\"m\":true},\"extra\":\"ignored\"}", &msg, &err), 0);
	CHECK(json_is_object(msg.root));
	CHECK_STR(msg.action, "echo");
	CHECK_STR(msg.id, "r1");
	CHECK_INT(msg.id_generated, 0);
	CHECK(json_is_object(msg.payload));
	CHECK_INT(json_array_size(json_object_get(msg.payload, "x")), 2);
	CHECK(json_is_true(json_object_get(msg.metadata, "m")));
	CHECK(msg.payload == json_object_get(msg.root, "payload"));
	client_msg_free(&msg);
	CHECK(msg.root == NULL);
	client_msg_free(&msg); /* twice is harmless */
}

static void test_payload_any_or_absent(void)
{
	struct client_msg msg;
	struct proto_error err = {0};

	CHECK_INT(parse("{\"action\":\"a\"}", &msg, &err), 0);
	CHECK(msg.payload == NULL);
	CHECK(msg.metadata == NULL);
	client_msg_free(&msg);
	CHECK_INT(parse("{\"action\":\"a\",\"payload\":null}", &msg, &err), 0);
	CHECK(msg.payload != NULL && json_is_null(msg.payload));
	client_msg_free(&msg);
	CHECK_INT(parse("{\"payload\":\"text\",\"action\":\"a\"}", &msg, &err), 0);
	CHECK_STR(json_string_value(msg.payload), "text");
	client_msg_free(&msg);
	CHECK_INT(parse("{\"action\":\"a\",\"payload\":[1]}", &msg, &err), 0);
	CHECK(json_is_array(msg.payload));
	client_msg_free(&msg);
}

static void test_too_large(void)
{
	const char *text = "{\"action\":\"echo\",\"id\":\"r1\"}";
	size_t n = strlen(text);
	struct client_msg msg;
	struct proto_error err = {0};
	struct buf want = {0};

	buf_printf(&want, "Message exceeds %zu bytes", n - 1);
	CHECK_INT(parse_max(text, n - 1, &msg, &err), -1);
	CHECK_INT(err.code, ERR_PAYLOAD_TOO_LARGE);
	CHECK_STR(err.message, want.data);
	buf_free(&want);
	CHECK_STR(msg.id, ""); /* not parsed, so no id */
	CHECK(msg.root == NULL);
	client_msg_free(&msg);

	/* Checked before parsing: bad JSON over the limit is "too large", not "invalid". */
	CHECK_INT(parse_max("{{{{{{", 5, &msg, &err), -1);
	CHECK_INT(err.code, ERR_PAYLOAD_TOO_LARGE);
	CHECK_STR(err.message, "Message exceeds 5 bytes");

	CHECK_INT(parse_max(text, n, &msg, &err), 0);
	CHECK_STR(msg.id, "r1");
	client_msg_free(&msg);
}

static void test_invalid_json(void)
{
	struct client_msg msg;

	REFUSED("", &msg, ERR_VALIDATION, "Invalid message format");
	REFUSED("{", &msg, ERR_VALIDATION, "Invalid message format");
	REFUSED("{\"action\":\"a\"} x", &msg, ERR_VALIDATION, "Invalid message format");
	REFUSED("{\"action\":\"a\"}{}", &msg, ERR_VALIDATION, "Invalid message format");
	REFUSED("{'action':'a'}", &msg, ERR_VALIDATION, "Invalid message format");
	REFUSED("{\"action\":\"a\",\"action\":\"b\"}", &msg, ERR_VALIDATION,
		"Invalid message format");
	REFUSED("{\"action\":\"a\",\"p\":\"\\u0000\"}", &msg, ERR_VALIDATION,
		"Invalid message format");
	REFUSED("{\"action\":\"\xff\"}", &msg, ERR_VALIDATION, "Invalid message format");
	CHECK_STR(msg.id, "");
}

static void test_not_an_object(void)
{
	struct client_msg msg;

	REFUSED("[]", &msg, ERR_VALIDATION, "Message must be a JSON object");
	REFUSED("[{\"action\":\"a\"}]", &msg, ERR_VALIDATION, "Message must be a JSON object");
	REFUSED("\"echo\"", &msg, ERR_VALIDATION, "Message must be a JSON object");
	REFUSED("42", &msg, ERR_VALIDATION, "Message must be a JSON object");
	REFUSED("null", &msg, ERR_VALIDATION, "Message must be a JSON object");
}

/* Builds {"action":"a","id":"<n copies of unit>"}. */
static char *with_id(const char *unit, size_t n)
{
	struct buf b = {0};

	buf_puts(&b, "{\"action\":\"a\",\"id\":\"");
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, unit);
	buf_puts(&b, "\"}");
	return buf_detach(&b);
}

static void test_id_rules(void)
{
	static const char *const msg_id = "id must be a string of 1 to 128 characters";
	struct client_msg msg;
	struct proto_error err = {0};
	char *t;

	t = with_id("x", 128);
	CHECK_INT(parse(t, &msg, &err), 0);
	CHECK_INT(strlen(msg.id), 128);
	CHECK_INT(msg.id_generated, 0);
	client_msg_free(&msg);
	free(t);

	t = with_id("x", 129);
	REFUSED(t, &msg, ERR_VALIDATION, msg_id);
	CHECK_STR(msg.id, "");
	free(t);

	/* The limit is in bytes: 42 euro signs are 126 bytes, 43 are 129. */
	t = with_id("\xe2\x82\xac", 42);
	CHECK_INT(parse(t, &msg, &err), 0);
	CHECK_INT(strlen(msg.id), 126);
	client_msg_free(&msg);
	free(t);
	t = with_id("\xe2\x82\xac", 43);
	REFUSED(t, &msg, ERR_VALIDATION, msg_id);
	free(t);

	REFUSED("{\"action\":\"a\",\"id\":\"\"}", &msg, ERR_VALIDATION, msg_id);
	REFUSED("{\"action\":\"a\",\"id\":7}", &msg, ERR_VALIDATION, msg_id);
	REFUSED("{\"action\":\"a\",\"id\":null}", &msg, ERR_VALIDATION, msg_id);
	REFUSED("{\"action\":\"a\",\"id\":[\"r1\"]}", &msg, ERR_VALIDATION, msg_id);
	CHECK_STR(msg.id, "");
	/* The id is checked before the action. */
	REFUSED("{\"id\":5}", &msg, ERR_VALIDATION, msg_id);
}

static void test_action_rules(void)
{
	static const char *const missing = "Missing or invalid action";
	static const char *const invalid = "Invalid action name";
	struct client_msg msg;
	struct proto_error err = {0};
	struct buf b = {0};

	REFUSED("{}", &msg, ERR_VALIDATION, missing);
	REFUSED("{\"action\":null}", &msg, ERR_VALIDATION, missing);
	REFUSED("{\"action\":3}", &msg, ERR_VALIDATION, missing);
	REFUSED("{\"action\":[\"echo\"]}", &msg, ERR_VALIDATION, missing);
	REFUSED("{\"action\":\"\"}", &msg, ERR_VALIDATION, invalid);
	REFUSED("{\"action\":\"bad action!\"}", &msg, ERR_VALIDATION, invalid);
	REFUSED("{\"action\":\"a/b\"}", &msg, ERR_VALIDATION, invalid);
	REFUSED("{\"action\":\"caf\xc3\xa9\"}", &msg, ERR_VALIDATION, invalid);
	REFUSED("{\"action\":\"echo \"}", &msg, ERR_VALIDATION, invalid);

	CHECK_INT(parse("{\"action\":\"request.cancel-2_x\"}", &msg, &err), 0);
	CHECK_STR(msg.action, "request.cancel-2_x");
	client_msg_free(&msg);

	buf_puts(&b, "{\"action\":\"");
	for (int i = 0; i < 64; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\"}");
	CHECK_INT(parse(b.data, &msg, &err), 0);
	CHECK_INT(strlen(msg.action), 64);
	client_msg_free(&msg);
	buf_reset(&b);
	buf_puts(&b, "{\"action\":\"");
	for (int i = 0; i < 65; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\"}");
	REFUSED(b.data, &msg, ERR_VALIDATION, invalid);
	buf_free(&b);
}

static void test_metadata_rules(void)
{
	static const char *const bad = "metadata must be an object";
	struct client_msg msg;

	REFUSED("{\"action\":\"a\",\"metadata\":[]}", &msg, ERR_VALIDATION, bad);
	REFUSED("{\"action\":\"a\",\"metadata\":\"x\"}", &msg, ERR_VALIDATION, bad);
	REFUSED("{\"action\":\"a\",\"metadata\":null}", &msg, ERR_VALIDATION, bad);
	REFUSED("{\"action\":\"a\",\"metadata\":1}", &msg, ERR_VALIDATION, bad);
}

/* Later refusals carry the client's id, so the error can answer the request. */
static void test_request_id_carried(void)
{
	struct client_msg msg;
	struct proto_error err = {0};

	REFUSED("{\"id\":\"r1\"}", &msg, ERR_VALIDATION, "Missing or invalid action");
	CHECK_STR(msg.id, "r1");
	CHECK_INT(msg.id_generated, 0);
	REFUSED("{\"id\":\"r2\",\"action\":\"bad action!\"}", &msg, ERR_VALIDATION,
		"Invalid action name");
	CHECK_STR(msg.id, "r2");
	REFUSED("{\"action\":\"a\",\"metadata\":[],\"id\":\"r3\"}", &msg, ERR_VALIDATION,
		"metadata must be an object");
	CHECK_STR(msg.id, "r3");

	CHECK_INT(parse("{\"id\":\"r4\",\"action\":7}", &msg, &err), -1);
	DUMPS(proto_error(msg.id, &err),
	      "{\"type\":\"error\",\"request_id\":\"r4\",\"error\":{\"code\":\"VALIDATION_ERROR\","
	      "\"message\":\"Missing or invalid action\"}}");
	client_msg_free(&msg);

	/* No id (absent or unreadable): the refusal has none, and none is generated. */
	CHECK_INT(parse("{\"action\":7}", &msg, &err), -1);
	CHECK_STR(msg.id, "");
	CHECK_INT(msg.id_generated, 0);
	DUMPS(proto_error(msg.id, &err),
	      "{\"type\":\"error\",\"request_id\":null,\"error\":{\"code\":\"VALIDATION_ERROR\","
	      "\"message\":\"Missing or invalid action\"}}");
	client_msg_free(&msg);
}

static void test_generated_id(void)
{
	struct client_msg a, b;
	struct proto_error err = {0};

	CHECK_INT(parse("{\"action\":\"a\"}", &a, &err), 0);
	CHECK_INT(parse("{\"action\":\"a\"}", &b, &err), 0);
	CHECK_INT(a.id_generated, 1);
	CHECK_INT(strlen(a.id), 28);
	CHECK(strncmp(a.id, "req_", 4) == 0);
	for (size_t i = 4; i < 28; i++)
		CHECK((a.id[i] >= '0' && a.id[i] <= '9') || (a.id[i] >= 'a' && a.id[i] <= 'f'));
	CHECK(strcmp(a.id, b.id) != 0);
	client_msg_free(&a);
	client_msg_free(&b);
}

/* Whatever msg held before, a failed parse leaves no root and an empty id. */
static void test_failure_resets_msg(void)
{
	struct client_msg msg;
	struct proto_error err = {0};

	memset(&msg, 0x41, sizeof(msg));
	msg.id[sizeof(msg.id) - 1] = '\0';
	CHECK_INT(parse("nope", &msg, &err), -1);
	CHECK(msg.root == NULL);
	CHECK_STR(msg.id, "");
	CHECK_INT(msg.id_generated, 0);
	client_msg_free(&msg);
}

static void test_response(void)
{
	DUMPS(proto_response("r1", json_pack("{s:i,s:s}", "a", 1, "b", "x")),
	      "{\"type\":\"response\",\"request_id\":\"r1\",\"success\":true,"
	      "\"data\":{\"a\":1,\"b\":\"x\"}}");
	DUMPS(proto_response("r1", NULL),
	      "{\"type\":\"response\",\"request_id\":\"r1\",\"success\":true,\"data\":null}");
	DUMPS(proto_response(NULL, json_integer(3)),
	      "{\"type\":\"response\",\"request_id\":null,\"success\":true,\"data\":3}");
	DUMPS(proto_response("", json_array()),
	      "{\"type\":\"response\",\"request_id\":null,\"success\":true,\"data\":[]}");
}

static void test_error(void)
{
	struct proto_error err = {0};

	proto_error_set(&err, ERR_NOT_FOUND, "No such %s", "thing");
	DUMPS(proto_error("r1", &err),
	      "{\"type\":\"error\",\"request_id\":\"r1\",\"error\":{\"code\":\"NOT_FOUND\","
	      "\"message\":\"No such thing\"}}");
	err.details = json_pack("{s:s}", "what", "thing");
	DUMPS(proto_error(NULL, &err),
	      "{\"type\":\"error\",\"request_id\":null,\"error\":{\"code\":\"NOT_FOUND\","
	      "\"message\":\"No such thing\",\"details\":{\"what\":\"thing\"}}}");
	proto_error_clear(&err);
	CHECK(err.details == NULL);

	proto_error_set(&err, ERR_PAYLOAD_TOO_LARGE, "Message exceeds %d bytes", 10);
	DUMPS(proto_error("", &err),
	      "{\"type\":\"error\",\"request_id\":null,\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\","
	      "\"message\":\"Message exceeds 10 bytes\"}}");
}

static void test_details_references(void)
{
	struct proto_error err = {0};
	json_t *details = json_object(), *m;

	proto_error_set(&err, ERR_FORBIDDEN, "no");
	err.details = details;
	CHECK_INT(details->refcount, 1);
	m = proto_error("r", &err);
	CHECK(m != NULL);
	CHECK_INT(details->refcount, 2);
	CHECK(json_object_get(json_object_get(m, "error"), "details") == details);
	json_decref(m);
	CHECK_INT(details->refcount, 1);

	/* proto_error_set drops the reference err held. */
	json_incref(details);
	proto_error_set(&err, ERR_FORBIDDEN, "again");
	CHECK(err.details == NULL);
	CHECK_INT(details->refcount, 1);
	json_decref(details);
	proto_error_clear(&err);
}

static void test_dump_keeps_utf8(void)
{
	DUMPS(proto_response("r/1", json_string("h\xc3\xa9llo \xe2\x82\xac a/b")),
	      "{\"type\":\"response\",\"request_id\":\"r/1\",\"success\":true,"
	      "\"data\":\"h\xc3\xa9llo \xe2\x82\xac a/b\"}");
	CHECK(proto_dump(NULL) == NULL);
}

static void test_error_set_truncates_at_utf8(void)
{
	/* Each multi-byte character is placed so that it straddles the 255-byte limit. */
	static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	struct proto_error err = {0};
	char big[400];

	memset(big, 'a', 300);
	big[300] = '\0';
	proto_error_set(&err, ERR_VALIDATION, "%s", big);
	CHECK_INT(strlen(err.message), 255);

	for (size_t c = 0; c < ARRAY_SIZE(chars); c++) {
		size_t clen = strlen(chars[c]);

		for (size_t pre = 246; pre <= 256; pre++) {
			/* pre 'a's, the character, then "zz" */
			size_t full = pre + clen + 2;
			size_t want = full <= 255 ? full : pre + clen <= 255 || pre >= 255 ? 255 : pre;
			json_t *s;

			memset(big, 'a', pre);
			memcpy(big + pre, chars[c], clen);
			memcpy(big + pre + clen, "zz", 3);
			proto_error_set(&err, ERR_VALIDATION, "%s", big);
			if (strlen(err.message) != want)
				printf("# char %zu, %zu bytes before it\n", c, pre);
			CHECK_INT(strlen(err.message), want);
			CHECK(strncmp(err.message, big, want) == 0);
			/* jansson accepts only valid UTF-8 */
			s = json_string(err.message);
			CHECK(s != NULL);
			json_decref(s);
		}
	}
}

static void test_error_message_not_utf8(void)
{
	struct proto_error err = {0};

	proto_error_set(&err, ERR_INVALID_ACTION, "Unknown action: %s", "\xff\xfe");
	DUMPS(proto_error("r", &err),
	      "{\"type\":\"error\",\"request_id\":\"r\",\"error\":{\"code\":\"INVALID_ACTION\","
	      "\"message\":\"INVALID_ACTION\"}}");
}

/* 2023-11-14T22:13:20.123Z */
#define AT_MS 1700000000123LL
#define AT "2023-11-14T22:13:20.123Z"

static void test_error_text(void)
{
	char big[600];

	DUMPS(proto_error_text("r1", ERR_TIMEOUT, "too slow"),
	      "{\"type\":\"error\",\"request_id\":\"r1\",\"error\":{\"code\":\"TIMEOUT\","
	      "\"message\":\"too slow\"}}");
	/* Not cut to struct proto_error's 255 bytes: the processor's messages are longer. */
	memset(big, 'm', 500);
	big[500] = '\0';
	{
		json_t *m = proto_error_text(NULL, ERR_PROCESSING_FAILED, big);

		CHECK(json_is_null(json_object_get(m, "request_id")));
		CHECK_STR(json_string_value(json_object_get(json_object_get(m, "error"), "message")), big);
		json_decref(m);
	}
}

static void test_acknowledgment(void)
{
	DUMPS(proto_acknowledgment("r1", "queued", "Request queued for processing"),
	      "{\"type\":\"acknowledgment\",\"request_id\":\"r1\",\"status\":\"queued\","
	      "\"message\":\"Request queued for processing\"}");
}

static void test_progress(void)
{
	json_t *meta = json_pack("{s:i}", "step", 2);

	DUMPS(proto_progress("r1", 40, "Working", meta, AT_MS),
	      "{\"type\":\"progress\",\"request_id\":\"r1\",\"percentage\":40,\"message\":\"Working\","
	      "\"timestamp\":\"" AT "\",\"metadata\":{\"step\":2}}");
	CHECK_INT(meta->refcount, 1); /* borrowed */
	json_decref(meta);
	DUMPS(proto_progress("r1", 100, NULL, NULL, AT_MS),
	      "{\"type\":\"progress\",\"request_id\":\"r1\",\"percentage\":100,\"message\":\"\","
	      "\"timestamp\":\"" AT "\"}");
	CHECK(proto_progress("r1", 1, "\xff", NULL, AT_MS) == NULL);
}

static void test_complete(void)
{
	DUMPS(proto_complete("r1", json_pack("{s:[i,i]}", "rows", 1, 2), AT_MS),
	      "{\"type\":\"complete\",\"request_id\":\"r1\",\"result\":{\"rows\":[1,2]},"
	      "\"timestamp\":\"" AT "\"}");
	DUMPS(proto_complete("r1", NULL, AT_MS),
	      "{\"type\":\"complete\",\"request_id\":\"r1\",\"result\":null,\"timestamp\":\"" AT "\"}");
}

static void test_event(void)
{
	DUMPS(proto_event("news.eu", json_pack("{s:s}", "headline", "x"), AT_MS),
	      "{\"type\":\"event\",\"topic\":\"news.eu\",\"data\":{\"headline\":\"x\"},"
	      "\"timestamp\":\"" AT "\"}");
	DUMPS(proto_event("t", json_integer(7), AT_MS),
	      "{\"type\":\"event\",\"topic\":\"t\",\"data\":7,\"timestamp\":\"" AT "\"}");
	DUMPS(proto_event("t", NULL, AT_MS),
	      "{\"type\":\"event\",\"topic\":\"t\",\"data\":null,\"timestamp\":\"" AT "\"}");
}

/* The builders write what the hand-built json_pack messages they replace wrote, byte for byte. */
static void test_builders_match_former_packs(void)
{
	json_t *meta = json_pack("{s:s}", "k", "v"), *data = json_pack("[i]", 1);
	char *want, *got;

#define SAME(built, packed) do { \
	json_t *b_ = (built), *p_ = (packed); \
	got = proto_dump(b_); \
	want = proto_dump(p_); \
	CHECK_STR(got, want); \
	free(got); \
	free(want); \
	json_decref(b_); \
	json_decref(p_); \
} while (0)
	SAME(proto_progress("r", 5, "m", meta, AT_MS),
	     json_pack("{s:s,s:s,s:i,s:s,s:s,s:O*}", "type", "progress", "request_id", "r",
		       "percentage", 5, "message", "m", "timestamp", AT, "metadata", meta));
	SAME(proto_progress("r", 100, "Completed", NULL, AT_MS),
	     json_pack("{s:s,s:s,s:i,s:s,s:s,s:O*}", "type", "progress", "request_id", "r",
		       "percentage", 100, "message", "Completed", "timestamp", AT, "metadata", NULL));
	SAME(proto_complete("r", json_incref(data), AT_MS),
	     json_pack("{s:s,s:s,s:O,s:s}", "type", "complete", "request_id", "r", "result", data,
		       "timestamp", AT));
	SAME(proto_error_text("r", ERR_CANCELLED, "Cancelled by the client"),
	     json_pack("{s:s,s:s,s:{s:s,s:s}}", "type", "error", "request_id", "r", "error", "code",
		       "CANCELLED", "message", "Cancelled by the client"));
	SAME(proto_acknowledgment("r", "queued", "q"),
	     json_pack("{s:s,s:s,s:s,s:s}", "type", "acknowledgment", "request_id", "r", "status",
		       "queued", "message", "q"));
	SAME(proto_event("t", json_incref(data), AT_MS),
	     json_pack("{s:s,s:s,s:O,s:s}", "type", "event", "topic", "t", "data", data,
		       "timestamp", AT));
#undef SAME
	json_decref(meta);
	json_decref(data);
}

/* Every refusal's HTTP status comes from its code; the bodies keep the codes clients know. */
static void test_http_status_of(void)
{
	static const struct {
		enum err_code code;
		int status;
		const char *name;
	} want[] = {
		{ ERR_VALIDATION, 400, "VALIDATION_ERROR" },
		{ ERR_UNAUTHORIZED, 401, "UNAUTHORIZED" },
		{ ERR_FORBIDDEN, 403, "FORBIDDEN" },
		{ ERR_NOT_FOUND, 404, "NOT_FOUND" },
		{ ERR_HTTP_METHOD, 405, "VALIDATION_ERROR" },
		{ ERR_HTTP_CONFLICT, 409, "CONFLICT" },
		{ ERR_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE" },
		{ ERR_RATE_LIMITED, 429, "RATE_LIMITED" },
		{ ERR_INTERNAL, 500, "INTERNAL_ERROR" },
		{ ERR_PROCESSING_FAILED, 500, "PROCESSING_FAILED" },
		{ ERR_HTTP_UNAVAILABLE, 503, "INTERNAL_ERROR" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_INT(http_status_of(want[i].code), want[i].status);
		CHECK_STR(err_code_name(want[i].code), want[i].name);
	}
	CHECK_INT(http_status_of((enum err_code)42), 500);
}

/* The Status line of every status a code maps to has its reason phrase (the CGI mode sends it as is). */
static void test_http_reason_of_every_status(void)
{
	for (int c = 0; c <= ERR_HTTP_UNAVAILABLE; c++) {
		int status = http_status_of((enum err_code)c);

		if (strcmp(http_reason(status), "Unknown") == 0)
			printf("# %s -> %d has no reason phrase\n", err_code_name((enum err_code)c), status);
		CHECK(strcmp(http_reason(status), "Unknown") != 0);
	}
	CHECK_STR(http_reason(409), "Conflict");
	CHECK_STR(http_reason(429), "Too Many Requests");
	CHECK_STR(http_reason(504), "Gateway Timeout");
}

/* A handler's codes: those of the handler ABI pass, any other is the fallback. */
static void test_err_code_of_handler(void)
{
	static const char *const passed[] = {
		"VALIDATION_ERROR", "NOT_FOUND", "FORBIDDEN", "PROCESSING_FAILED", "TIMEOUT",
		"CANCELLED", "RATE_LIMITED",
	};

	for (size_t i = 0; i < ARRAY_SIZE(passed); i++)
		CHECK_STR(err_code_name(err_code_of_handler(passed[i], ERR_VALIDATION)), passed[i]);
	CHECK_INT(err_code_of_handler("INTERNAL_ERROR", ERR_PROCESSING_FAILED), ERR_PROCESSING_FAILED);
	CHECK_INT(err_code_of_handler("UNAUTHORIZED", ERR_VALIDATION), ERR_VALIDATION);
	CHECK_INT(err_code_of_handler("CONFLICT", ERR_PROCESSING_FAILED), ERR_PROCESSING_FAILED);
	CHECK_INT(err_code_of_handler("", ERR_VALIDATION), ERR_VALIDATION);
	CHECK_INT(err_code_of_handler("not_found", ERR_PROCESSING_FAILED), ERR_PROCESSING_FAILED);
	CHECK_INT(err_code_of_handler(NULL, ERR_PROCESSING_FAILED), ERR_PROCESSING_FAILED);

	/* In a sync reply RATE_LIMITED (which clients resend) is PROCESSING_FAILED. */
	CHECK_INT(err_code_of_sync_handler("RATE_LIMITED"), ERR_PROCESSING_FAILED);
	CHECK_INT(err_code_of_sync_handler("NOT_FOUND"), ERR_NOT_FOUND);
	CHECK_INT(err_code_of_sync_handler("CANCELLED"), ERR_CANCELLED);
	CHECK_INT(err_code_of_sync_handler("whatever"), ERR_PROCESSING_FAILED);
}

static void test_topic_patterns(void)
{
	json_t *list = json_pack("[s,s]", "news", "prices.*");

	CHECK(topic_pattern_valid("news") && topic_pattern_valid("*") && topic_pattern_valid("a.b.*"));
	CHECK(!topic_pattern_valid("") && !topic_pattern_valid("a*") && !topic_pattern_valid(".*") &&
	      !topic_pattern_valid("a.*.b") && !topic_pattern_valid("**") && !topic_pattern_valid("a b"));
	CHECK(topic_pattern_covers("*", "anything") && topic_pattern_covers("news", "news"));
	CHECK(topic_pattern_covers("prices.*", "prices.eur") && topic_pattern_covers("prices.*", "prices.eur.spot"));
	CHECK(!topic_pattern_covers("prices.*", "prices") && !topic_pattern_covers("prices.*", "prices."));
	CHECK(!topic_pattern_covers("prices.*", "pricesx.eur") && !topic_pattern_covers("news", "news2"));
	CHECK(topic_list_covers(list, "news", 0) && !topic_list_covers(list, "news", 1));
	CHECK(topic_list_covers(list, "prices.eur", 1) && !topic_list_covers(NULL, "news", 0));
	json_decref(list);
}

TAP_MAIN(
	TAP_TEST(test_code_names),
	TAP_TEST(test_valid_message),
	TAP_TEST(test_payload_any_or_absent),
	TAP_TEST(test_too_large),
	TAP_TEST(test_invalid_json),
	TAP_TEST(test_not_an_object),
	TAP_TEST(test_id_rules),
	TAP_TEST(test_action_rules),
	TAP_TEST(test_metadata_rules),
	TAP_TEST(test_request_id_carried),
	TAP_TEST(test_generated_id),
	TAP_TEST(test_failure_resets_msg),
	TAP_TEST(test_response),
	TAP_TEST(test_error),
	TAP_TEST(test_details_references),
	TAP_TEST(test_dump_keeps_utf8),
	TAP_TEST(test_error_set_truncates_at_utf8),
	TAP_TEST(test_error_message_not_utf8),
	TAP_TEST(test_error_text),
	TAP_TEST(test_acknowledgment),
	TAP_TEST(test_progress),
	TAP_TEST(test_complete),
	TAP_TEST(test_event),
	TAP_TEST(test_builders_match_former_packs),
	TAP_TEST(test_http_status_of),
	TAP_TEST(test_http_reason_of_every_status),
	TAP_TEST(test_err_code_of_handler),
	TAP_TEST(test_topic_patterns),
)
