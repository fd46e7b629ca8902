/* request_run.h - the seam between the processor and the async handlers: validate at enqueue, run in a request process. */
#ifndef STREAMER_REQUEST_RUN_H
#define STREAMER_REQUEST_RUN_H

#include <stdint.h>

#include <jansson.h>

struct config;
struct streamer_handler;

/* What a running request may call back: progress (returns 1 to go on, 0 when the request was cancelled). */
struct request_sink {
	int (*progress)(void *arg, int pct, const char *message, json_t *metadata);
	void *arg;
};

/* The request as the handler sees it. Strings borrowed. */
struct request_input {
	const char *id;         /* server id */
	const char *request_id;
	const char *action;
	const struct streamer_handler *handler; /* action's (actions_handler), NULL when this process has none */
	const char *user_id;
	const char *tenant_id;
	json_t *payload;        /* borrowed */
	int64_t deadline_ms;    /* wall-clock ms the request must be done by */
	int attempt;            /* 1 for the first run */
};

/*
 * Validates in->payload with in->handler's validate (the same function the
 * worker runs before it queues an async request and the processor again
 * before the handler); only in->action, in->handler and in->payload are
 * read. Returns 0, or -1 with a message for the client in msg ("Unknown
 * action: <action>" when in->handler is NULL).
 */
int request_validate(const struct request_input *in, char *msg, size_t msglen);

/*
 * Runs the request in the calling process (the processor's req child) with
 * in->handler (NULL: PROCESSING_FAILED naming the settings to check). On
 * success returns 0 and a new reference in *result. On failure returns -1
 * with code (an error code of the protocol: PROCESSING_FAILED,
 * VALIDATION_ERROR, CANCELLED, TIMEOUT, RATE_LIMITED and the others of
 * STREAMER_E_*) and msg filled.
 */
int request_run(const struct config *cfg, const struct request_input *in, const struct request_sink *sink,
	    json_t **result, char code[32], char *msg, size_t msglen);

#endif
