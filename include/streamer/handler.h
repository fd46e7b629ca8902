/* streamer/handler.h - the public ABI for action handlers: built-in, C plugins (dlopen) and the host that runs them. */
#ifndef STREAMER_HANDLER_H
#define STREAMER_HANDLER_H

/*
 * A plugin is a shared object named in STREAMER_PLUGINS
 * (/path/a.so,/path/b.so). The worker (streamer-fcgi) and the processor
 * (streamer processor) load it with dlopen at start and look up one data
 * symbol, `streamer_plugin` (a struct streamer_plugin). Its first member is
 * the ABI version the plugin was compiled against; a plugin whose version is
 * not this header's STREAMER_HANDLER_ABI_VERSION is refused at start with a
 * message naming the file, before anything else in it is read.
 *
 * Build one with:
 *   cc -std=c11 -shared -fPIC $(pkg-config --cflags jansson) \
 *      -I/usr/local/include -o wordcount.so wordcount.c $(pkg-config --libs jansson)
 *
 * JSON values cross the ABI as jansson json_t pointers (jansson >= 2.10,
 * libjansson.so.4, the library the host itself links). Choosing jansson over
 * JSON text saves a serialise/parse round trip per request and lets the
 * worker's enqueue-time check and the processor's run-time check share the
 * very same parsed payload. Ownership follows jansson's habits: "borrowed"
 * means the callee must not decref it (nor keep it after returning, unless it
 * takes its own reference with json_incref); "new reference" means the
 * receiver owns it and decrefs it.
 *
 * Threads: the host calls validate and run from one thread at a time per
 * process, but several processes run the same plugin at once; a handler
 * keeps no state between calls other than read-only tables (a long-lived
 * worker must not accumulate anything per request).
 *
 * An example plugin that builds against this header is
 * examples/plugin/wordcount.c in the streamer source tree.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bumped whenever any struct below changes layout or any contract changes
 * incompatibly. The host accepts exactly its own version.
 */
#define STREAMER_HANDLER_ABI_VERSION 1u

/* The symbol every plugin exports (a const struct streamer_plugin). */
#define STREAMER_PLUGIN_SYMBOL "streamer_plugin"

/* ---- flags of a handler -------------------------------------------------- */

/*
 * The request is queued (the client gets an acknowledgment at once) and run
 * later by a `streamer processor`, with progress and cancellation. Without
 * it the worker runs the handler while it answers the message (keep that
 * short: the client waits, a worker is busy); progress reports are then
 * accepted and ignored.
 */
#define STREAMER_HANDLER_ASYNC 0x1u
/* All flags this ABI version knows; a handler setting any other is refused. */
#define STREAMER_HANDLER_FLAGS_KNOWN 0x1u

/* ---- errors ---------------------------------------------------------------- */

/* Error codes a handler may give (the client protocol's codes). */
#define STREAMER_E_VALIDATION "VALIDATION_ERROR"  /* the payload is wrong: the client's fault */
#define STREAMER_E_NOT_FOUND "NOT_FOUND"          /* something the payload names does not exist */
#define STREAMER_E_FORBIDDEN "FORBIDDEN"          /* the caller may not do this */
#define STREAMER_E_FAILED "PROCESSING_FAILED"     /* the handler could not do it */
#define STREAMER_E_TIMEOUT "TIMEOUT"              /* the deadline passed */
#define STREAMER_E_CANCELLED "CANCELLED"          /* the host asked it to stop */
#define STREAMER_E_RATE_LIMITED "RATE_LIMITED"    /* a quota of the caller is used up (not worth retrying at once) */

#define STREAMER_ERROR_CODE_MAX 32
#define STREAMER_ERROR_FIELD_MAX 128
#define STREAMER_ERROR_MESSAGE_MAX 1536

/*
 * Why validate or run failed. The host zeroes it before each call; a handler
 * that returns -1 fills it (streamer_fail does all three fields). Any other
 * code than the STREAMER_E_* above reaches the client as PROCESSING_FAILED;
 * an empty code means PROCESSING_FAILED (VALIDATION_ERROR from validate).
 * Strings must be UTF-8.
 */
struct streamer_error {
	char code[STREAMER_ERROR_CODE_MAX];       /* one of STREAMER_E_* */
	char field[STREAMER_ERROR_FIELD_MAX];     /* the payload field at fault ("items[3].price"), or "" */
	char message[STREAMER_ERROR_MESSAGE_MAX]; /* for the client: what is wrong, naming the field */
};

/* ---- the run context ------------------------------------------------------- */

struct streamer_handler;

/*
 * What a running handler gets from the host. Every pointer is borrowed and
 * valid only during the run call. Strings are NUL-terminated UTF-8.
 */
struct streamer_ctx {
	unsigned abi_version;                    /* the host's STREAMER_HANDLER_ABI_VERSION */
	const struct streamer_handler *handler;  /* the handler being run (its data member included) */
	const char *job_id;                      /* the server's id of the request; may be "" for sync runs */
	const char *request_id;                  /* the client's id of the request (its request_id) */
	const char *action;                      /* the action name the client sent */
	const char *user_id;                     /* the caller (JWT sub) */
	const char *tenant_id;                   /* the caller's tenant (JWT tenant_id) */
	int attempt;                             /* 1 on the first run; more after a processor crashed mid-run */
	int64_t deadline_ms;                     /* wall clock (ms since the Unix epoch) by which run must
						    have returned; 0 = none. Past it the host kills the run. */
	const char *output_dir;                  /* a directory the handler may write result files into
						    (STREAMER_OUTPUT_DIR, made on demand), or NULL */

	/*
	 * Reports progress: percentage 0..100 (clamped by the host, which also
	 * decides how often it reaches the client), a short message (NULL =
	 * none) and metadata (an object, borrowed, or NULL). Returns 1 to go
	 * on, 0 when the handler must stop: the request was cancelled, its
	 * deadline passed or the host lost it. After 0 the handler cleans up and
	 * returns -1 at once (the code it gives is then overridden by the
	 * host's reason). Never NULL. May block briefly (the host stores the
	 * report).
	 */
	int (*progress)(struct streamer_ctx *ctx, int percentage, const char *message,
			json_t *metadata);

	/*
	 * Returns 1 once the handler must stop (a progress call returned 0, the
	 * host was told to stop, or the deadline passed), else 0. Cheap: no I/O,
	 * meant for the inner loops of long work. Never NULL.
	 */
	int (*is_cancelled)(struct streamer_ctx *ctx);

	void *host;                              /* the host's own; handlers never touch it */
};

/* ---- a handler ------------------------------------------------------------- */

struct streamer_handler {
	/*
	 * The action clients send: [A-Za-z0-9._-]{1,64}. Unique across the
	 * built-in actions, every plugin and STREAMER_EXEC_ACTIONS; a clash
	 * stops the process at start with a message naming both.
	 */
	const char *name;

	/* STREAMER_HANDLER_* flags. */
	unsigned flags;

	/*
	 * The permission (an entry of the JWT's permissions array) a client
	 * needs for this action, or NULL for any authenticated client. Checked
	 * by the host before validate; failing it is FORBIDDEN.
	 */
	const char *permission;

	/*
	 * Checks payload (borrowed; NULL when the message had none, which
	 * handlers usually treat like JSON null) without side effects. Returns
	 * 0 when it is acceptable, or -1 with err filled (code
	 * VALIDATION_ERROR, field and a message naming the field). The worker
	 * calls it before it queues or runs the request, and the processor
	 * calls it again before run: it is the one definition of a valid
	 * payload. NULL accepts any payload.
	 */
	int (*validate)(json_t *payload, struct streamer_error *err);

	/*
	 * Does the work. payload is borrowed and has passed validate; it must
	 * not be modified. On success sets *result to a new reference (NULL
	 * means JSON null) and returns 0; on failure returns -1 with err filled
	 * and *result untouched. It should report progress now and then (every
	 * few percent or every second or so) and honour ctx->is_cancelled and
	 * ctx->deadline_ms promptly. Async runs happen in a child process of
	 * the processor that is killed when it overruns its deadline, so a
	 * handler needs no cleanup beyond its own files for that case. Never
	 * NULL.
	 */
	int (*run)(struct streamer_ctx *ctx, json_t *payload, json_t **result,
		   struct streamer_error *err);

	/* The handler's own data, for a run function shared by several handlers (ctx->handler->data). May be NULL. */
	const void *data;
};

/* ---- the plugin -------------------------------------------------------------- */

/*
 * What a plugin exports as `const struct streamer_plugin streamer_plugin`.
 * abi_version stays the first member in every future version, so a host can
 * always read it safely.
 */
struct streamer_plugin {
	unsigned abi_version;  /* STREAMER_HANDLER_ABI_VERSION as compiled into the plugin */
	const char *name;      /* the plugin's name, for logs ("wordcount") */
	const char *version;   /* the plugin's own version, for logs ("1.0"), may be NULL */

	/* Its handlers, terminated by an entry whose name is NULL. At least one. */
	const struct streamer_handler *handlers;

	/*
	 * Called once after loading, before any handler, in every process that
	 * loads the plugin (NULL = nothing to do). Returns 0, or -1 with a
	 * one-line reason in err (errlen bytes): the process then refuses to
	 * start, naming the plugin file and the reason.
	 */
	int (*init)(char *err, size_t errlen);

	/* Called once before the plugin is unloaded (NULL = nothing to do). */
	void (*fini)(void);
};

/* ---- helpers (inline: a plugin needs no symbol from the host) ---------------- */

/* Cuts s (NUL-terminated) before a UTF-8 sequence left incomplete at its end, as truncation may leave. */
static inline void streamer_utf8_trim(char *s)
{
	size_t n = 0, lead;
	unsigned char c;

	while (s[n])
		n++;
	lead = n;
	while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80 && n - lead < 3)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)s[lead - 1];
	if (c >= 0xc0 && (size_t)(c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > n - lead + 1)
		s[lead - 1] = '\0';
}

/*
 * Fills err with code, field (NULL = none) and a printf-style message,
 * truncated to fit (never inside a UTF-8 character). Returns -1 so that
 * `return streamer_fail(...)` reads well.
 */
static inline int streamer_fail(struct streamer_error *err, const char *code, const char *field,
				const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline int streamer_fail(struct streamer_error *err, const char *code, const char *field,
				const char *fmt, ...)
{
	va_list ap;

	snprintf(err->code, sizeof err->code, "%s", code ? code : STREAMER_E_FAILED);
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	streamer_utf8_trim(err->field);
	streamer_utf8_trim(err->message);
	return -1;
}

/* The current wall clock in ms since the Unix epoch, the clock of deadline_ms. */
static inline int64_t streamer_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* 1 when the handler must stop: ctx->is_cancelled says so or the deadline has passed. */
static inline int streamer_should_stop(struct streamer_ctx *ctx)
{
	return ctx->is_cancelled(ctx) || (ctx->deadline_ms > 0 && streamer_now_ms() >= ctx->deadline_ms);
}

#ifdef __cplusplus
}
#endif

#endif
