/* protocol.h - the client JSON protocol: validate inbound messages, build outbound ones. */
#ifndef STREAMER_PROTOCOL_H
#define STREAMER_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

enum err_code {
	ERR_VALIDATION,
	ERR_INVALID_ACTION,
	ERR_UNAUTHORIZED,
	ERR_FORBIDDEN,
	ERR_NOT_FOUND,
	ERR_PAYLOAD_TOO_LARGE,
	ERR_RATE_LIMITED,
	ERR_TIMEOUT,
	ERR_PROCESSING_FAILED,
	ERR_CANCELLED,
	ERR_INTERNAL,
	/*
	 * Refusals of the HTTP layer only (never in a message): a wrong method
	 * (405, VALIDATION_ERROR), a connection id held by another (409,
	 * CONFLICT), the store not answering a probe (503, INTERNAL_ERROR).
	 */
	ERR_HTTP_METHOD,
	ERR_HTTP_CONFLICT,
	ERR_HTTP_UNAVAILABLE,
};

/* "VALIDATION_ERROR", …; "INTERNAL_ERROR" for a value outside the enum. */
const char *err_code_name(enum err_code code);

/*
 * The HTTP status of a refusal carrying code, from the one code table in
 * protocol.c (e.g. 400 VALIDATION_ERROR, 401 UNAUTHORIZED, 429 RATE_LIMITED);
 * 500 for a value outside the enum.
 */
int http_status_of(enum err_code code);

/*
 * The protocol code for a handler's error code: the code of that name when
 * the handler ABI defines it (STREAMER_E_* of <streamer/handler.h>), else
 * fallback (also for NULL). The one mapping of handler codes.
 */
enum err_code err_code_of_handler(const char *code, enum err_code fallback);

/*
 * As err_code_of_handler with fallback PROCESSING_FAILED, for an error a
 * sync handler answers in the reply: RATE_LIMITED becomes PROCESSING_FAILED
 * there, since clients resend a RATE_LIMITED after details.retry_after_ms,
 * which a handler's error does not carry.
 */
enum err_code err_code_of_sync_handler(const char *code);

#define PROTO_ACTION_MAX 64
#define PROTO_ID_MAX 128

/* An error for the client. details is a new reference or NULL. */
struct proto_error {
	enum err_code code;
	char message[256];
	json_t *details;
};

/*
 * Sets e's code and message (truncated to fit, at a UTF-8 boundary) and drops
 * any details reference e held: e must be zero-initialised or previously set.
 */
void proto_error_set(struct proto_error *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Drops e's details reference. */
void proto_error_clear(struct proto_error *e);

/*
 * Sets e to RATE_LIMITED with the message, details {"limit": limit,
 * "retry_after_ms": retry_after_ms} (clients wait that long, then resend;
 * values below 1 become 1). limit names which limit refused ("message",
 * "requests", "tenant_pending", "batch"), a fixed string of the program.
 */
void proto_error_rate_limited(struct proto_error *e, const char *limit, int64_t retry_after_ms,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A validated inbound message. */
struct client_msg {
	json_t *root;      /* owned: the whole parsed object */
	const char *action;/* borrowed from root */
	char id[PROTO_ID_MAX + 1]; /* the client's id, or a generated "req_<hex>" */
	int id_generated;
	json_t *payload;   /* borrowed from root; NULL when absent */
	json_t *metadata;  /* borrowed from root; NULL when absent */
};

/*
 * Parses and validates text[0..len): at most max bytes, a JSON object, action
 * matching [A-Za-z0-9._-]{1,64}, id an optional string of 1..128 characters,
 * metadata an optional object. Returns 0 with msg filled (release with
 * client_msg_free), or -1 with err filled. On failure msg->id still holds
 * the client's id when it was readable and valid, else "" (the error then
 * carries request_id null), and msg->root is NULL. msg need not be
 * initialised; client_msg_free is safe after either outcome. An absent id
 * is replaced by "req_" + 24 hex digits, only on success (id_generated 1).
 * Valid JSON that is not an object is refused as "Message must be a JSON
 * object"; text over max bytes is refused before any parsing.
 */
int proto_parse(const char *text, size_t len, size_t max, struct client_msg *msg,
		struct proto_error *err) __attribute__((warn_unused_result));
void client_msg_free(struct client_msg *msg);

/*
 * Outbound builders. Each returns a new reference to an object whose first
 * key is "type". request_id NULL or "" is written as null. Arguments
 * documented "stolen" are consumed even on failure.
 */
json_t *proto_response(const char *request_id, json_t *data /* stolen, NULL = null */);
/* err->details, when set, is shared: the message takes its own reference. */
json_t *proto_error(const char *request_id, const struct proto_error *err);
/* An error without details whose message is not cut to struct proto_error's size. */
json_t *proto_error_text(const char *request_id, enum err_code code, const char *message);
/* {"type":"acknowledgment","request_id","status","message"}: an async request accepted. */
json_t *proto_acknowledgment(const char *request_id, const char *status, const char *message);
/*
 * {"type":"progress","request_id","percentage","message","timestamp"[,"metadata"]}:
 * message NULL is written as ""; metadata borrowed, NULL leaves the key out;
 * timestamp is at_ms (wall clock) in RFC 3339.
 */
json_t *proto_progress(const char *request_id, int pct, const char *message, json_t *metadata,
		       int64_t at_ms);
/* {"type":"complete","request_id","result","timestamp"}: result stolen, NULL = null. */
json_t *proto_complete(const char *request_id, json_t *result, int64_t at_ms);
/*
 * {"type":"event","topic","data","timestamp"}: a message published to a
 * topic (no request_id). data stolen, NULL = null.
 */
json_t *proto_event(const char *topic, json_t *data, int64_t at_ms);

/*
 * Serialises msg compactly, keys in insertion order, UTF-8 kept as is. New
 * string (malloc), caller frees; NULL when msg is NULL or allocation fails.
 */
char *proto_dump(const json_t *msg);
/*
 * Appends what proto_dump returns to out (no copy, no allocation beyond
 * out's growth). Returns 0, or -1 with out unchanged when msg is neither
 * an object nor an array or cannot be serialised.
 */
int proto_dump_to(struct buf *out, const json_t *msg) __attribute__((warn_unused_result));

/*
 * Topic patterns (a token's topics and publish_topics claims): "*" covers
 * every topic, "<prefix>.*" every topic that starts with "<prefix>." (any
 * depth); anything else is a topic name ([A-Za-z0-9._:-]{1,128}) and covers only itself.
 * topic_pattern_valid: 1 when s is a valid topic name or pattern.
 * topic_pattern_covers: 1 when pattern (a valid one) covers topic.
 */
int topic_pattern_valid(const char *s);
int topic_pattern_covers(const char *pattern, const char *topic);
/*
 * 1 when an entry of list (a JSON array of names and patterns, may be NULL)
 * covers topic; with patterns_only, only its patterns count.
 */
int topic_list_covers(const json_t *list, const char *topic, int patterns_only);

#endif
