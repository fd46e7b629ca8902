/* log.c - one JSON object per line to stderr or STREAMER_LOG_FILE. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_level min_level = LOG_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int log_init(enum log_level level, const char *path)
{
	int fd;

	min_level = level;
	if (log_fd != STDERR_FILENO) {
		close(log_fd);
		log_fd = STDERR_FILENO;
	}
	if (!path || !*path)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	log_fd = fd;
	return 0;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

/*
 * A copy of v with every string's credentials masked (str_redact_credentials),
 * or NULL when v holds none. Never changes v: a caller may still hold it (or
 * parts of it) through json_pack's "O".
 */
static json_t *redacted(json_t *v)
{
	json_t *copy = NULL, *r, *member;
	const char *key;
	size_t i;

	if (json_is_string(v)) {
		struct buf b = { 0 };

		if (!str_has_credentials(json_string_value(v)))
			return NULL;
		str_redact_credentials(&b, json_string_value(v));
		r = json_string(b.data);
		buf_free(&b);
		return r ? r : json_string("***");
	}
	if (json_is_object(v)) {
		json_object_foreach(v, key, member) {
			if (!(r = redacted(member)))
				continue;
			if (!copy)
				copy = json_copy(v);
			json_object_set_new(copy, key, r);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, member) {
			if (!(r = redacted(member)))
				continue;
			if (!copy)
				copy = json_copy(v);
			json_array_set_new(copy, i, r);
		}
	}
	return copy;
}

void log_event(enum log_level level, const char *event, json_t *fields)
{
	char ts[32];
	json_t *line, *value, *r;
	const char *key;
	void *iter;
	char *text;

	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	time_rfc3339(time_now_ms(), ts);
	line = json_object();
	json_object_set_new(line, "time", json_string(ts));
	json_object_set_new(line, "level", json_string(level_names[level]));
	json_object_set_new(line, "event", json_string(event));
	json_object_set_new(line, "pid", json_integer(getpid()));
	if (fields) {
		json_object_update(line, fields);
		json_decref(fields);
	}
	/* No credential of a URL, a query or a Bearer header reaches a log line. */
	json_object_foreach_safe(line, iter, key, value) {
		if ((r = redacted(value)))
			json_object_set_new(line, key, r);
	}
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (!text)
		return;
	size_t len = strlen(text);
	text[len] = '\n';
	/*
	 * One write per line: with O_APPEND the kernel keeps lines from many
	 * workers whole. A short or failed write is dropped rather than retried,
	 * so logging never blocks or loops in a request.
	 */
	if (write(log_fd, text, len + 1) < 0) {
		/* nowhere left to report it */
	}
	free(text);
}

void log_msg(enum log_level level, const char *event, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0) {
		buf_reserve(&b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b.data, (size_t)n + 1, fmt, ap);
		va_end(ap);
		b.len = (size_t)n;
	}
	log_event(level, event, json_pack("{s:s}", "message", b.data ? b.data : ""));
	buf_free(&b);
}
