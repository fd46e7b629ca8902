/* log.c - one JSON object per line to stderr or STREAMER_LOG_FILE. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_write.h"
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

/* This process's id, cached (getpid is a system call); a fork's child clears it. */
static pid_t cached_pid;

static void forget_pid(void)
{
	cached_pid = 0;
}

static pid_t log_pid(void)
{
	static int registered;

	if (!registered) {
		registered = 1;
		pthread_atfork(NULL, NULL, forget_pid);
	}
	if (!cached_pid)
		cached_pid = getpid();
	return cached_pid;
}

/* Appends s[0..n) as a JSON string, its credentials masked (str_redact_credentials). */
static void put_string(struct buf *out, const char *s, size_t n)
{
	/* Most strings hold no credential: one scan, no copy. */
	if (str_has_credentials(s)) {
		struct buf masked = {0};

		str_redact_credentials(&masked, s);
		jsonw_string(out, masked.data, masked.len);
		buf_free(&masked);
	} else {
		jsonw_string(out, s, n);
	}
}

/*
 * Appends v as JSON with credentials masked as redacted() masks them.
 * Returns -1 when v cannot be written (json_dumps would have failed).
 */
static int put_value(struct buf *out, json_t *v)
{
	json_t *r;
	int rc;

	if (json_is_string(v)) {
		put_string(out, json_string_value(v), json_string_length(v));
		return 0;
	}
	if (!json_is_object(v) && !json_is_array(v))
		return jsonw_value(out, v);
	r = redacted(v);
	rc = jsonw_value(out, r ? r : v);
	json_decref(r);
	return rc;
}

/* Appends ,"key": (without the comma for the first member). */
static void put_key(struct buf *out, const char *key)
{
	if (out->len > 1)
		buf_putc(out, ',');
	jsonw_string(out, key, strlen(key));
	buf_putc(out, ':');
}

/* The keys every line starts with, in this order; fields of the same name replace their values in place. */
enum { BASE_TIME, BASE_LEVEL, BASE_EVENT, BASE_PID, BASE_KEYS };
static const char *const base_keys[BASE_KEYS] = { "time", "level", "event", "pid" };

/*
 * The base key that a field named key replaces, or -1. Without an event the
 * line has no "event" key to replace: such a field comes in its own place
 * among the others, as json_object_update appends it.
 */
static int base_key_of(const char *key, const char *event)
{
	for (int i = 0; i < BASE_KEYS; i++)
		if (key[0] == base_keys[i][0] && strcmp(key, base_keys[i]) == 0)
			return i == BASE_EVENT && !event ? -1 : i;
	return -1;
}

/* Lines longer than this give their buffer back after the write. */
#define LINE_KEEP 65536

/* Process state: one line at a time, reused so that a line costs no allocation. */
static struct buf line;

/*
 * Starts the line: "{" and the base keys in order, each with the value
 * base[k] when a field of that name replaces it (base may be NULL). Returns
 * -1 when a replacing value cannot be written.
 */
static int line_begin(enum log_level level, const char *event, json_t *const *base)
{
	char ts[32];

	buf_reset(&line);
	buf_putc(&line, '{');
	for (int k = 0; k < BASE_KEYS; k++) {
		if (base && base[k]) {
			put_key(&line, base_keys[k]);
			if (put_value(&line, base[k]) < 0)
				return -1;
			continue;
		}
		if (k == BASE_EVENT && !event)
			continue;
		put_key(&line, base_keys[k]);
		switch (k) {
		case BASE_TIME:
			time_rfc3339(time_now_ms(), ts);
			jsonw_string(&line, ts, strlen(ts));
			break;
		case BASE_LEVEL:
			jsonw_string(&line, level_names[level], strlen(level_names[level]));
			break;
		case BASE_EVENT:
			put_string(&line, event, strlen(event));
			break;
		default:
			jsonw_int(&line, log_pid());
		}
	}
	return 0;
}

/*
 * Closes the line and writes it with one write(2): with O_APPEND the kernel
 * keeps lines from many workers whole. A short or failed write is dropped
 * rather than retried, so logging never blocks or loops in a request.
 */
static void line_end(void)
{
	buf_append(&line, "}\n", 2);
	if (write(log_fd, line.data, line.len) < 0) {
		/* nowhere left to report it */
	}
	if (line.cap > LINE_KEEP)
		buf_free(&line);
}

void log_event(enum log_level level, const char *event, json_t *fields)
{
	json_t *base[BASE_KEYS] = { NULL }, *value; /* fields' values for the base keys, borrowed */
	const char *key;
	int k, ok;

	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	/*
	 * The same bytes as json_dumps of {"time","level","event","pid"} updated
	 * with fields (jansson keeps insertion order and replaces in place), with
	 * every string's credentials masked; written without building that object.
	 */
	if (fields && !json_is_object(fields)) {
		json_decref(fields);
		fields = NULL;
	}
	json_object_foreach(fields, key, value)
		if ((k = base_key_of(key, event)) >= 0)
			base[k] = value;
	ok = line_begin(level, event, base) == 0;
	json_object_foreach(fields, key, value) {
		if (!ok)
			break;
		if (base_key_of(key, event) < 0) {
			put_key(&line, key);
			ok = put_value(&line, value) == 0;
		}
	}
	/* A value that cannot be written (json_dumps would fail) costs the whole line, as it did. */
	if (ok)
		line_end();
	json_decref(fields);
}

/* The object json_pack would build from f ("s:s?" and "s:I" members), or NULL when it would fail. */
static json_t *fields_object(const struct log_field *f, size_t n)
{
	json_t *o = json_object(), *v;

	for (size_t i = 0; i < n; i++) {
		v = f[i].is_int ? json_integer(f[i].num) : f[i].str ? json_string(f[i].str) : json_null();
		if (json_object_set_new(o, f[i].key, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

void log_line(enum log_level level, const char *event, const struct log_field *f, size_t n)
{
	size_t i;

	if (!log_enabled(level))
		return;
	/*
	 * The rare cases keep log_event's exact behaviour through it: a key that
	 * replaces a base key, a string jansson would refuse (the fields are
	 * then lost, as json_pack's NULL loses them).
	 */
	for (i = 0; i < n; i++)
		if (base_key_of(f[i].key, event) >= 0 ||
		    (!f[i].is_int && f[i].str && !utf8_valid(f[i].str, strlen(f[i].str))))
			break;
	if (i < n) {
		log_event(level, event, fields_object(f, n));
		return;
	}
	(void)line_begin(level, event, NULL); /* cannot fail without replacing values */
	for (i = 0; i < n; i++) {
		put_key(&line, f[i].key);
		if (f[i].is_int)
			jsonw_int(&line, f[i].num);
		else if (f[i].str)
			put_string(&line, f[i].str, strlen(f[i].str));
		else
			buf_append(&line, "null", 4);
	}
	line_end();
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
