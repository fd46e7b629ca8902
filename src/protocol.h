/* protocol.h - the client JSON protocol: validate inbound messages, build outbound ones. */
#ifndef STREAMER_PROTOCOL_H
#define STREAMER_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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
};

/* "VALIDATION_ERROR", … */
const char *err_code_name(enum err_code code);

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
json_t *proto_pong(void);

/*
 * Serialises msg compactly, keys in insertion order, UTF-8 kept as is. New
 * string (malloc), caller frees; NULL when msg is NULL or allocation fails.
 */
char *proto_dump(const json_t *msg);

#endif
