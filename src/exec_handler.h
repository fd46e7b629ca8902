/* exec_handler.h - exec handlers (STREAMER_EXEC_ACTIONS): one command per request, payload on stdin, progress and result on stdout. */
#ifndef STREAMER_EXEC_HANDLER_H
#define STREAMER_EXEC_HANDLER_H

#include <stddef.h>

#include <streamer/handler.h>

/* Tunables of exec_run; zero fields take the defaults below. */
struct exec_options {
	int kill_grace_ms;  /* between SIGTERM and SIGKILL of the command's process group */
	size_t line_max;    /* longest stdout line (the result line included), bytes */
	size_t stderr_tail; /* how much of the end of stderr a failure quotes, bytes */
};
#define EXEC_KILL_GRACE_MS 2000
#define EXEC_LINE_MAX ((size_t)16 << 20)
#define EXEC_STDERR_TAIL 1024

/*
 * Runs the program at path (absolute, executed directly: no shell, no
 * arguments) for one request:
 * - in its own process group, in the caller's working directory, with a
 *   minimal environment: of the caller's only PATH (default
 *   /usr/local/bin:/usr/bin:/bin), HOME, LANG, LANGUAGE, LC_*, TZ and
 *   TMPDIR (no STREAMER_* setting, no other variable), plus STREAMER_ACTION,
 *   STREAMER_REQUEST_ID, STREAMER_JOB_ID, STREAMER_USER_ID,
 *   STREAMER_TENANT_ID, STREAMER_ATTEMPT, STREAMER_DEADLINE_MS and (when
 *   ctx->output_dir is set) STREAMER_OUTPUT_DIR; it is killed (SIGKILL) if
 *   the calling thread dies;
 * - stdin: payload (borrowed; NULL is written as null) as one line of JSON,
 *   then end of file;
 * - stdout: each line `PROGRESS <pct> <message>` calls ctx->progress
 *   (pct a number, clamped to 0..100; malformed PROGRESS lines are
 *   ignored); the last other non-blank line is the result, JSON (no such
 *   line = null). Lines may end in CRLF;
 * - stderr: only its last opt->stderr_tail bytes are kept, for a failure.
 * Returns 0 with *result a new reference when the program exits with status
 * 0 and its result line is JSON. Otherwise returns -1 with err filled:
 * PROCESSING_FAILED when it cannot be started, exits non-zero or by a signal
 * (the message quotes the end of its stderr, made valid UTF-8), prints an
 * invalid result or a line longer than opt->line_max; CANCELLED when
 * ctx->progress returned 0 or ctx->is_cancelled became true; TIMEOUT when
 * ctx->deadline_ms passed. In the last three cases (and for an overlong
 * line) the process group gets SIGTERM, then SIGKILL after
 * opt->kill_grace_ms. On every path the program is reaped and every
 * descriptor closed before returning; whatever the program left behind in
 * its process group is killed too. Waits with poll(): no busy waiting.
 * The caller must not set SIGCHLD to SIG_IGN. opt NULL = defaults.
 */
int exec_run(const char *path, const struct exec_options *opt, struct streamer_ctx *ctx,
	     json_t *payload, json_t **result, struct streamer_error *err)
	__attribute__((warn_unused_result));

/* The configured exec actions of a process: process state, made once at start. */
struct exec_actions;

/* As plugin_taken_fn: a description of the owner of name when it is taken, else NULL. */
typedef const char *(*exec_taken_fn)(void *arg, const char *name);

/*
 * Parses specs (a NULL-terminated list of "name=/absolute/path"; NULL or
 * empty = none) into handlers: flag STREAMER_HANDLER_ASYNC, no permission,
 * no validation (the program judges its payload), run = exec_run with opt
 * (NULL = defaults; copied). Refused: a malformed entry, an invalid action
 * name, a path that is not absolute or not an executable regular file, a
 * name given twice or one taken() reports (taken may be NULL). Returns 0
 * with a new set in *out, or -1 with *out NULL and one line naming
 * STREAMER_EXEC_ACTIONS and the entry in err.
 */
int exec_actions_load(struct exec_actions **out, char *const *specs,
		      const struct exec_options *opt, exec_taken_fn taken, void *taken_arg,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/* Frees ea. NULL is a no-op. */
void exec_actions_free(struct exec_actions *ea);

/* The handler of action name, or NULL. Lives as long as ea; ea may be NULL. */
const struct streamer_handler *exec_actions_find(const struct exec_actions *ea, const char *name);

#endif
