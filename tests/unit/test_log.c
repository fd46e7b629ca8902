/* test_log.c - unit tests for log.c: the bytes of a line (as jansson would dump it), credential masking, levels, the pid after fork. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "tap.h"
#include "tmpdir.h"
#include "util.h"

static char dir[TMPDIR_MAX], path[TMPDIR_MAX + 16];

/* Sends log lines at level and up to a new file; read them with written(). */
static void log_to_file(enum log_level level)
{
	tmpdir_make(dir, sizeof(dir), "test_log");
	snprintf(path, sizeof(path), "%s/log", dir);
	CHECK_INT(log_init(level, path), 0);
}

/* Everything logged so far (caller frees); the file is emptied. */
static char *written(void)
{
	size_t len;
	char *text = file_read(path, 1 << 20, &len);

	CHECK(text != NULL);
	CHECK(truncate(path, 0) == 0);
	return text;
}

static void cleanup(void)
{
	log_init(LOG_INFO, NULL);
	tmpdir_remove(dir);
}

/*
 * Logs fields and checks the line against what log.c wrote before it had a
 * writer of its own: json_dumps of {"time","level","event","pid"} updated
 * with fields, then a newline. The time comes from the line itself.
 */
static void same_as_jansson(enum log_level level, const char *event, json_t *fields)
{
	json_t *expect = json_object(), *parsed;
	char *line, *want;

	json_object_set_new(expect, "time", json_string("?"));
	json_object_set_new(expect, "level", json_string(level == LOG_INFO ? "info" : "error"));
	json_object_set_new(expect, "event", json_string(event));
	json_object_set_new(expect, "pid", json_integer(getpid()));
	log_event(level, event, json_incref(fields));
	line = written();
	parsed = json_loads(line, 0, NULL);
	CHECK(parsed != NULL);
	json_object_set(expect, "time", json_object_get(parsed, "time"));
	CHECK(json_is_string(json_object_get(expect, "time")));
	json_object_update(expect, fields);
	want = json_dumps(expect, JSON_COMPACT);
	CHECK(want != NULL);
	CHECK_INT(strlen(line), strlen(want) + 1);
	CHECK(line[strlen(want)] == '\n');
	line[strlen(want)] = '\0';
	CHECK_STR(line, want);
	free(want);
	free(line);
	json_decref(parsed);
	json_decref(expect);
	json_decref(fields);
}

static void test_line_bytes(void)
{
	log_to_file(LOG_DEBUG);
	same_as_jansson(LOG_INFO, "message", NULL);
	same_as_jansson(LOG_INFO, "message",
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "connection_id", "b-1", "request_id",
				  "r\"1\\\n\x01", "user", "caf\xc3\xa9 \xf0\x9f\x98\x80", "action", "echo",
				  "outcome", "ok", "duration_us", (json_int_t)-42));
	same_as_jansson(LOG_ERROR, "store_error",
			json_pack("{s:n,s:b,s:f,s:[i,s,{}],s:{s:{s:[]}}}", "null", "bool", 1, "real", 2.5,
				  "array", 1, "x", "object", "a", "b"));
	/* A field named like a base key replaces its value where the base key stands. */
	same_as_jansson(LOG_INFO, "connect",
			json_pack("{s:s,s:s,s:i,s:s}", "first", "1", "event", "renamed", "pid", 7,
				  "time", "then"));
	/* Without an event there is no "event" to replace: a field of that name comes in its own place. */
	same_as_jansson(LOG_INFO, NULL, json_pack("{s:s,s:s}", "a", "1", "event", "late"));
	cleanup();
}

static void test_credentials_masked(void)
{
	json_t *fields = json_pack("{s:s,s:s,s:{s:s,s:[s,i]},s:s}",
				   "url", "/ws?Authorization=eyJ.a.b&x=1",
				   "header", "Bearer abc.def",
				   "nested", "upstream", "https://u:p@h/x", "list", "?token=t", 3,
				   "plain", "b-1");
	char *line, *before = json_dumps(fields, JSON_COMPACT);

	log_to_file(LOG_INFO);
	log_event(LOG_INFO, "message", json_incref(fields));
	line = written();
	CHECK(strstr(line, "\"url\":\"/ws?Authorization=***&x=1\",\"header\":\"Bearer ***\","
			   "\"nested\":{\"upstream\":\"https://***@h/x\",\"list\":[\"?token=***\",3]},"
			   "\"plain\":\"b-1\"}\n") != NULL);
	CHECK(strstr(line, "eyJ") == NULL && strstr(line, "abc") == NULL);
	/* The caller's values are untouched. */
	char *after = json_dumps(fields, JSON_COMPACT);
	CHECK_STR(after, before);
	free(after);
	free(before);
	free(line);
	json_decref(fields);
	cleanup();
}

static void test_levels_and_non_objects(void)
{
	char *text;

	log_to_file(LOG_WARN);
	log_event(LOG_INFO, "hidden", json_pack("{s:s}", "a", "b"));
	log_msg(LOG_DEBUG, "hidden", "%d", 1);
	text = written();
	CHECK_STR(text, "");
	free(text);
	/* Fields that are not an object are dropped, the line stays. */
	log_event(LOG_WARN, "odd", json_pack("[i]", 1));
	log_msg(LOG_ERROR, "said", "n=%d", 5);
	text = written();
	CHECK(strstr(text, "\"level\":\"warn\",\"event\":\"odd\",\"pid\":") != NULL);
	CHECK(strstr(text, "\"level\":\"error\",\"event\":\"said\",\"pid\":") != NULL);
	CHECK(strstr(text, ",\"message\":\"n=5\"}\n") != NULL);
	free(text);
	cleanup();
}

/* The line of log_line, after its time, must equal the one log_event gives for fields (stolen). */
static void log_line_same(const char *event, const struct log_field *f, size_t n, json_t *fields)
{
	char *a, *b;
	size_t skip = strlen("{\"time\":\"2026-01-01T00:00:00.000Z\"");

	log_line(LOG_INFO, event, f, n);
	a = written();
	log_event(LOG_INFO, event, fields);
	b = written();
	CHECK(strlen(a) > skip && strncmp(a, "{\"time\":\"", 9) == 0);
	if (strcmp(a + skip, b + skip) != 0)
		printf("# log_line  %s# log_event %s", a, b);
	CHECK_STR(a + skip, b + skip);
	free(a);
	free(b);
}

static void test_log_line_as_log_event(void)
{
	const struct log_field message[] = {
		LOG_STR("connection_id", "b-1"), LOG_STR("request_id", NULL),
		LOG_STR("user", "caf\xc3\xa9 \"q\" \x01"), LOG_STR("tenant", "t1"),
		LOG_STR("action", "echo"), LOG_STR("outcome", "ok"), LOG_INT("duration_us", 123),
	};
	const struct log_field secret[] = {
		LOG_STR("url", "/ws?Authorization=eyJ.a.b&x=1"), LOG_INT("n", -9223372036854775807LL - 1),
	};
	/* Rare cases that log_line leaves to log_event: a base key, a string jansson refuses. */
	const struct log_field base[] = { LOG_STR("a", "1"), LOG_STR("event", "renamed"), LOG_INT("pid", 7) };
	const struct log_field bad[] = { LOG_STR("a", "1"), LOG_STR("agent", "x\xff") };

	log_to_file(LOG_INFO);
	log_line_same("message", message, ARRAY_SIZE(message),
		      json_pack("{s:s,s:s?,s:s,s:s,s:s,s:s,s:I}", "connection_id", "b-1",
				"request_id", NULL, "user", "caf\xc3\xa9 \"q\" \x01", "tenant", "t1",
				"action", "echo", "outcome", "ok", "duration_us", (json_int_t)123));
	log_line_same("message", secret, ARRAY_SIZE(secret),
		      json_pack("{s:s,s:I}", "url", "/ws?Authorization=eyJ.a.b&x=1",
				"n", (json_int_t)(-9223372036854775807LL - 1)));
	log_line_same("connect", base, ARRAY_SIZE(base),
		      json_pack("{s:s,s:s,s:i}", "a", "1", "event", "renamed", "pid", 7));
	log_line_same("message", bad, ARRAY_SIZE(bad),
		      json_pack("{s:s,s:s}", "a", "1", "agent", "x\xff"));
	log_line_same("message", NULL, 0, NULL);
	/* And the masked text is what both wrote. */
	log_line(LOG_INFO, "message", secret, ARRAY_SIZE(secret));
	{
		char *t = written();

		CHECK(strstr(t, "\"url\":\"/ws?Authorization=***&x=1\"") != NULL);
		free(t);
	}
	/* Below the level nothing is written. */
	log_line(LOG_DEBUG, "message", message, ARRAY_SIZE(message));
	{
		char *t = written();

		CHECK_STR(t, "");
		free(t);
	}
	cleanup();
}

/* A forked child's lines carry its own pid, not its parent's (which log.c caches). */
static void test_pid_after_fork(void)
{
	char want[64], *text;
	pid_t child;
	int status;

	log_to_file(LOG_INFO);
	log_event(LOG_INFO, "parent", NULL);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		log_event(LOG_INFO, "child", NULL);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
	text = written();
	snprintf(want, sizeof(want), "\"event\":\"parent\",\"pid\":%d}\n", (int)getpid());
	CHECK(strstr(text, want) != NULL);
	snprintf(want, sizeof(want), "\"event\":\"child\",\"pid\":%d}\n", (int)child);
	CHECK(strstr(text, want) != NULL);
	free(text);
	cleanup();
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_line_bytes),
		TAP_TEST(test_credentials_masked),
		TAP_TEST(test_levels_and_non_objects),
		TAP_TEST(test_pid_after_fork),
	TAP_TEST(test_log_line_as_log_event),
	};

	return tap_run(tests, ARRAY_SIZE(tests));
}
