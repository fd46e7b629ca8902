/* request_run.h - the seam between the processor and the async handlers: validate at enqueue, run in a request process. */
#ifndef STREAMER_REQUEST_RUN_H
#define STREAMER_REQUEST_RUN_H

#include <stdint.h>

#include <jansson.h>

struct config;

/* What a running job may call back: progress (returns 1 to go on, 0 when the request was cancelled). */
struct request_sink {
	int (*progress)(void *arg, int pct, const char *message, json_t *metadata);
	void *arg;
};

/* The request as the handler sees it. Strings borrowed. */
struct request_input {
	const char *id;         /* server id */
	const char *request_id;
	const char *action;
	const char *user_id;
	const char *tenant_id;
	json_t *payload;        /* borrowed */
	int64_t deadline_ms;    /* wall-clock ms the job must be done by */
	int attempt;            /* 1 for the first run */
};

/*
 * Loads what the async actions need once per process (plugins, exec
 * actions) from cfg. Returns 0, or -1 with a one-line reason in err naming
 * the variable at fault.
 */
int request_runtime_init(const struct config *cfg, char *err, size_t errlen);
void request_runtime_free(void);

struct streamer_handler;

/* The handler-ABI handler of action (built-in async, plugin, exec), or NULL. */
const struct streamer_handler *request_handler(const char *action);

/* 1 when action is an async action (built-in, plugin or exec), else 0. */
int request_action_is_async(const char *action);

/*
 * The permission action requires, or NULL for any authenticated client.
 * generate_report's is STREAMER_REPORT_PERMISSION (as loaded by
 * request_runtime_init; JOBS_REPORT_PERMISSION_DEFAULT before).
 */
const char *request_action_permission(const char *action);

/*
 * Validates payload for async action (the same function the processor runs
 * again before the handler). Returns 0, or -1 with a message for the client
 * in msg.
 */
int request_validate(const char *action, json_t *payload, char *msg, size_t msglen);

/*
 * Runs the job in the calling process (the processor's job child). On
 * success returns 0 and a new reference in *result. On failure returns -1
 * with code (an error code of the protocol: PROCESSING_FAILED,
 * VALIDATION_ERROR, CANCELLED, TIMEOUT, RATE_LIMITED and the others of
 * STREAMER_E_*) and msg filled.
 */
int request_run(const struct config *cfg, const struct request_input *in, const struct request_sink *sink,
	    json_t **result, char code[32], char *msg, size_t msglen);

#endif
