/* log.h - one JSON object per line to stderr or STREAMER_LOG_FILE. */
#ifndef STREAMER_LOG_H
#define STREAMER_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/*
 * Sets the minimum level and the destination. path NULL means stderr;
 * otherwise the file is opened O_APPEND so that lines written by many
 * processes never interleave. Returns 0, or -1 with errno when the file
 * cannot be opened (the destination then stays stderr).
 */
int log_init(enum log_level level, const char *path);

/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int log_level_parse(const char *s);

/* True when a line at level would be written. */
int log_enabled(enum log_level level);

/*
 * Writes one line: {"time":…,"level":…,"event":event,…fields}. Steals the
 * reference to fields (which may be NULL). The line is written with one
 * write(2). Credentials in URLs and queries in any string of fields are
 * masked (str_redact_credentials) without changing fields' values a caller
 * may share. Never pass a token, a Grip-Sig or a payload at info level.
 * Strings from a request must be valid UTF-8 (utf8_repair) or json_pack
 * fails and the fields are lost.
 */
void log_event(enum log_level level, const char *event, json_t *fields);

/* One field of a log_line: a string (NULL is written as null) or an integer. */
struct log_field {
	const char *key;
	const char *str;
	long long num;
	int is_int;
};
#define LOG_STR(k, v) { .key = (k), .str = (v), .num = 0, .is_int = 0 }
#define LOG_INT(k, v) { .key = (k), .str = NULL, .num = (long long)(v), .is_int = 1 }

/*
 * The line log_event(level, event, json_pack("{s:s?,s:I,…}", …)) writes for
 * the n fields f (distinct keys, in this order), byte for byte, without
 * building jansson values: for lines on the hot path (one per message).
 * Borrows everything. A string that is not valid UTF-8 loses the fields, as
 * json_pack's failure does.
 */
void log_line(enum log_level level, const char *event, const struct log_field *f, size_t n);

/* Convenience: a line with a "message" field built from fmt. */
void log_msg(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
