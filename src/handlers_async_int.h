/* handlers_async_int.h - helpers shared by the built-in async actions' files (payload checks, the handler functions). */
#ifndef STREAMER_HANDLERS_ASYNC_INT_H
#define STREAMER_HANDLERS_ASYNC_INT_H

#include "handlers_async.h"
#include "util.h"

/*
 * Validation helpers. Each returns 0, or -1 with err filled as a
 * VALIDATION_ERROR whose field is `field` and whose message starts with it.
 * field is a path into the payload ("operations[2].op"; "payload" for the
 * whole).
 */
int ha_invalid(struct streamer_error *err, const char *field, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* v must be an object (NULL = absent counts as not one). */
int ha_need_object(json_t *v, const char *field, struct streamer_error *err);
/* Every key of obj must be in allowed (NULL-terminated); prefix "" for the top level. */
int ha_only_keys(json_t *obj, const char *prefix, const char *const *allowed,
		 struct streamer_error *err);
/* The string member key of obj (prefix as above) must be one of choices; *out borrowed. Absent: *out = def (or an error when def is NULL). */
int ha_choice(json_t *obj, const char *prefix, const char *key, const char *const *choices,
	      const char *def, const char **out, struct streamer_error *err);
/* Writes prefix + key ("operations[1]" + "op" -> "operations[1].op"; "" + "op" -> "op") into out. */
void ha_path(char *out, size_t outlen, const char *prefix, const char *key);

/* Progress that turns "stop" into a CANCELLED or TIMEOUT error. Returns 0 to go on, -1 with err filled. */
int ha_progress(struct streamer_ctx *ctx, int pct, const char *message, struct streamer_error *err);
/* The error for a handler that noticed it must stop (ctx cancelled or past its deadline). Returns -1. */
int ha_stopped(struct streamer_ctx *ctx, struct streamer_error *err);

/*
 * The validate and run functions of the table in handlers_async.c, with the
 * contracts of struct streamer_handler (payload borrowed, *result a new
 * reference, err filled on -1). Each run parses its payload again with the
 * very function its validate uses.
 */
int process_data_validate(json_t *payload, struct streamer_error *err);
int process_data_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
		     struct streamer_error *err);
int generate_report_validate(json_t *payload, struct streamer_error *err);
int generate_report_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
			struct streamer_error *err);

#endif
