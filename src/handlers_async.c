/* handlers_async.c - the table of built-in async actions, their shared payload checks, delay and echo_async. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers_async_int.h"

/* ---- shared payload checks ------------------------------------------------------ */

int ha_invalid(struct streamer_error *err, const char *field, const char *fmt, ...)
{
	char msg[STREAMER_ERROR_MESSAGE_MAX - STREAMER_ERROR_FIELD_MAX - 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return streamer_fail(err, STREAMER_E_VALIDATION, field, "%s: %s", field, msg);
}

void ha_path(char *out, size_t outlen, const char *prefix, const char *key)
{
	snprintf(out, outlen, "%s%s%s", prefix, *prefix ? "." : "", key);
}

int ha_need_object(json_t *v, const char *field, struct streamer_error *err)
{
	if (!json_is_object(v))
		return ha_invalid(err, field, "must be an object");
	return 0;
}

int ha_only_keys(json_t *obj, const char *prefix, const char *const *allowed,
		 struct streamer_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a = allowed;
		char path[STREAMER_ERROR_FIELD_MAX];

		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a) {
			char list[256] = "";

			for (a = allowed; *a; a++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
					 a == allowed ? "" : ", ", *a);
			/* a client's key may be long: name at most 64 bytes of it, whole characters */
			snprintf(path, sizeof path, "%s%s%.64s", prefix, *prefix ? "." : "", key);
			streamer_utf8_trim(path);
			return ha_invalid(err, path, "unknown field (expected %s)", list);
		}
	}
	return 0;
}

int ha_choice(json_t *obj, const char *prefix, const char *key, const char *const *choices,
	      const char *def, const char **out, struct streamer_error *err)
{
	json_t *v = json_object_get(obj, key);
	char path[STREAMER_ERROR_FIELD_MAX], list[256] = "";
	const char *s;

	ha_path(path, sizeof path, prefix, key);
	if (!v) {
		if (!def)
			return ha_invalid(err, path, "is required");
		*out = def;
		return 0;
	}
	s = json_string_value(v);
	for (const char *const *c = choices; s && *c; c++) {
		if (strcmp(*c, s) == 0) {
			*out = *c;
			return 0;
		}
	}
	for (const char *const *c = choices; *c; c++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
			 c == choices ? "" : ", ", *c);
	return ha_invalid(err, path, "expected one of %s", list);
}

int ha_stopped(struct streamer_ctx *ctx, struct streamer_error *err)
{
	if (!ctx->is_cancelled(ctx) && ctx->deadline_ms > 0 && streamer_now_ms() >= ctx->deadline_ms)
		return streamer_fail(err, STREAMER_E_TIMEOUT, NULL, "The request ran past its deadline");
	return streamer_fail(err, STREAMER_E_CANCELLED, NULL, "Cancelled");
}

int ha_progress(struct streamer_ctx *ctx, int pct, const char *message, struct streamer_error *err)
{
	if (!ctx->progress(ctx, pct, message, NULL) || streamer_should_stop(ctx))
		return ha_stopped(ctx, err);
	return 0;
}

/* ---- echo_async ------------------------------------------------------------------ */

/* Any payload is acceptable; the result is the payload itself. */
static int echo_async_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
			  struct streamer_error *err)
{
	*result = payload ? json_incref(payload) : NULL;
	return 0;
}

/* ---- delay ------------------------------------------------------------------------ */

/* The test action: sleeps seconds in steps, reporting progress before each step. */
#define DELAY_SLICE_MS 50

static int delay_parse(json_t *payload, double *seconds, int *steps, struct streamer_error *err)
{
	static const char *const keys[] = { "seconds", "steps", NULL };
	json_t *v;

	*seconds = 5;
	*steps = 10;
	if (!payload || json_is_null(payload))
		return 0;
	if (ha_need_object(payload, "payload", err) < 0 || ha_only_keys(payload, "", keys, err) < 0)
		return -1;
	v = json_object_get(payload, "seconds");
	if (v) {
		if (!json_is_number(v) || json_number_value(v) < 0 ||
		    json_number_value(v) > DELAY_MAX_SECONDS)
			return ha_invalid(err, "seconds", "expected a number from 0 to %d",
					  DELAY_MAX_SECONDS);
		*seconds = json_number_value(v);
	}
	v = json_object_get(payload, "steps");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > DELAY_MAX_STEPS)
			return ha_invalid(err, "steps", "expected an integer from 1 to %d",
					  DELAY_MAX_STEPS);
		*steps = (int)json_integer_value(v);
	}
	return 0;
}

static int delay_validate(json_t *payload, struct streamer_error *err)
{
	double seconds;
	int steps;

	return delay_parse(payload, &seconds, &steps, err);
}

static int delay_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
		     struct streamer_error *err)
{
	double seconds;
	int steps;
	int64_t started = streamer_now_ms(), total_ms;

	if (delay_parse(payload, &seconds, &steps, err) < 0)
		return -1;
	total_ms = (int64_t)llround(seconds * 1000);
	for (int step = 0; step < steps; step++) {
		char msg[64];
		/* each step ends at its share of the total, measured from the start: no drift */
		int64_t step_end = started + total_ms * (step + 1) / steps;

		snprintf(msg, sizeof msg, "Step %d of %d", step + 1, steps);
		if (ha_progress(ctx, step * 100 / steps, msg, err) < 0)
			return -1;
		for (;;) {
			int64_t now = streamer_now_ms(), left = step_end - now;
			struct timespec ts;

			if (streamer_should_stop(ctx))
				return ha_stopped(ctx, err);
			if (left <= 0)
				break;
			if (left > DELAY_SLICE_MS)
				left = DELAY_SLICE_MS;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)left * 1000000L;
			nanosleep(&ts, NULL);
		}
	}
	*result = json_pack("{s:f,s:i,s:I}", "seconds", seconds, "steps", steps, "elapsed_ms",
			    (json_int_t)(streamer_now_ms() - started));
	if (!*result)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not build the result");
	return 0;
}

/* ---- the table ---------------------------------------------------------------------- */

const struct streamer_handler handlers_async_table[] = {
	{ .name = "process_data", .flags = STREAMER_HANDLER_ASYNC,
	  .validate = process_data_validate, .run = process_data_run },
	{ .name = "generate_report", .flags = STREAMER_HANDLER_ASYNC,
	  .validate = generate_report_validate, .run = generate_report_run },
	{ .name = "delay", .flags = STREAMER_HANDLER_ASYNC,
	  .validate = delay_validate, .run = delay_run },
	{ .name = "echo_async", .flags = STREAMER_HANDLER_ASYNC,
	  .validate = NULL, .run = echo_async_run },
	{ .name = NULL },
};

const struct streamer_handler *handlers_async_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct streamer_handler *h = handlers_async_table; h->name; h++)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}
