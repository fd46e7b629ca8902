/* test_wse.c - unit tests for the WebSocket-over-HTTP event parser and encoder, plus the tests/cases/wse cases. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util.h"
#include "wse.h"

/*
 * Data-driven cases: tests/cases/wse/<name>/input holds a raw body,
 * <name>/expected either "error\n" (and then name begins with "bad-") or one
 * line per event:
 *   TYPE -              an event without content
 *   TYPE <len>          content of length 0
 *   TYPE <len> <bytes>  content, printable ASCII as is, \r \n \\ and \xHH for the rest
 */

/* Copies s[0..n) into a buffer of exactly n bytes, so ASan sees any read past the end. */
static char *exact_copy(const void *s, size_t n)
{
	char *p = xmalloc(n);

	if (n)
		memcpy(p, s, n);
	return p;
}

/* Parses body[0..n) from an exact-size copy. On success the events point into *copy. */
static int parse_exact(const void *body, size_t n, char **copy, struct wse_event **ev,
		       size_t *count, char *why, size_t whylen)
{
	*copy = exact_copy(body, n);
	return wse_parse(*copy, n, ev, count, why, whylen);
}

static void escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			buf_puts(out, "\\\\");
		else if (c == '\r')
			buf_puts(out, "\\r");
		else if (c == '\n')
			buf_puts(out, "\\n");
		else if (c >= 0x20 && c < 0x7f)
			buf_putc(out, (char)c);
		else
			buf_printf(out, "\\x%02x", c);
	}
}

/* Writes events in the format of the expected files. */
static void describe(struct buf *out, const struct wse_event *ev, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		buf_puts(out, wse_type_name(ev[i].type));
		if (!ev[i].has_content) {
			buf_puts(out, " -\n");
			continue;
		}
		buf_printf(out, " %zu", ev[i].len);
		if (ev[i].len) {
			buf_putc(out, ' ');
			escape(out, ev[i].data, ev[i].len);
		}
		buf_putc(out, '\n');
	}
}

/* Re-encodes events with the wse_put* functions. */
static void encode(struct buf *out, const struct wse_event *ev, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (ev[i].has_content)
			wse_put_content(out, ev[i].type, ev[i].data, ev[i].len);
		else
			wse_put(out, ev[i].type);
	}
}

/* Prints text as TAP comment lines. */
static void comment(const char *label, const char *text)
{
	printf("# %s:\n", label);
	if (!*text)
		printf("#   (nothing)\n");
	while (*text) {
		const char *nl = strchr(text, '\n');
		int n = nl ? (int)(nl - text) : (int)strlen(text);

		printf("#   %.*s\n", n, text);
		text += n + (nl ? 1 : 0);
	}
}

static const char *cases_dir(struct buf *path)
{
	const char *top = getenv("top_srcdir");

	buf_reset(path);
	buf_printf(path, "%s/tests/cases/wse", top && *top ? top : ".");
	return path->data;
}

/* Runs one case directory in the current (child) process. */
static void run_case(const char *name)
{
	struct buf path = {0}, got = {0}, again = {0};
	struct wse_event *ev = NULL, *ev2 = NULL;
	size_t inlen, explen, count = 99, count2;
	char *input, *expected, *copy = NULL, *copy2 = NULL;
	char why[128] = "";
	int rc;

	buf_printf(&path, "%s/%s/input", cases_dir(&got), name);
	input = file_read(path.data, 1 << 20, &inlen);
	if (!input) {
		printf("# %s: %s\n", path.data, strerror(errno));
		CHECK(input != NULL);
	}
	buf_reset(&path);
	buf_printf(&path, "%s/%s/expected", cases_dir(&got), name);
	expected = file_read(path.data, 1 << 20, &explen);
	if (!expected) {
		printf("# %s: %s\n", path.data, strerror(errno));
		CHECK(expected != NULL);
	}

	/* The name says which kind a case is, so that the count in main means something. */
	CHECK_INT(strncmp(name, "bad-", 4) == 0, strcmp(expected, "error\n") == 0);

	rc = parse_exact(input, inlen, &copy, &ev, &count, why, sizeof(why));
	buf_reset(&got);
	if (rc < 0) {
		buf_puts(&got, "error\n");
		CHECK(ev == NULL);
		CHECK_INT(count, 0);
		CHECK(why[0] != '\0');
		printf("# refused: %s\n", why);
	} else {
		describe(&got, ev, count);
		CHECK(count > 0 || ev == NULL);
	}
	if (strcmp(got.data, expected) != 0) {
		comment("expected", expected);
		comment("got", got.data);
		CHECK(!"events match the expected file");
	}

	if (rc == 0) {
		/* What the encoder writes must parse back to the same events. */
		encode(&again, ev, count);
		CHECK_INT(parse_exact(again.data ? again.data : "", again.len, &copy2, &ev2,
				      &count2, why, sizeof(why)), 0);
		CHECK_INT(count2, count);
		for (size_t i = 0; i < count; i++) {
			CHECK_INT(ev2[i].type, ev[i].type);
			CHECK_INT(ev2[i].has_content, ev[i].has_content);
			CHECK_INT(ev2[i].len, ev[i].len);
			CHECK(memcmp(ev2[i].data, ev[i].data, ev[i].len) == 0);
		}
	}
	free(ev);
	free(ev2);
	free(copy);
	free(copy2);
	free(input);
	free(expected);
	buf_free(&path);
	buf_free(&got);
	buf_free(&again);
}

/* ---- unit tests --------------------------------------------------------- */

static void test_type_names(void)
{
	CHECK_STR(wse_type_name(WSE_OPEN), "OPEN");
	CHECK_STR(wse_type_name(WSE_TEXT), "TEXT");
	CHECK_STR(wse_type_name(WSE_BINARY), "BINARY");
	CHECK_STR(wse_type_name(WSE_PING), "PING");
	CHECK_STR(wse_type_name(WSE_PONG), "PONG");
	CHECK_STR(wse_type_name(WSE_CLOSE), "CLOSE");
	CHECK_STR(wse_type_name(WSE_DISCONNECT), "DISCONNECT");
	CHECK_STR(wse_type_name((enum wse_type)99), "UNKNOWN");
}

static void test_put_exact_bytes(void)
{
	struct buf b = {0};
	char big[255];
	const char *want;

	wse_put(&b, WSE_OPEN);
	CHECK_STR(b.data, "OPEN\r\n");
	buf_reset(&b);
	wse_put_content(&b, WSE_TEXT, "hello world", 11);
	CHECK_STR(b.data, "TEXT b\r\nhello world\r\n");
	buf_reset(&b);
	wse_put_content(&b, WSE_PONG, NULL, 0);
	CHECK_STR(b.data, "PONG 0\r\n\r\n");
	buf_reset(&b);
	wse_put_text2(&b, "m:", "{}", 2);
	CHECK_STR(b.data, "TEXT 4\r\nm:{}\r\n");
	buf_reset(&b);
	wse_put_text2(&b, NULL, "x", 1);
	CHECK_STR(b.data, "TEXT 1\r\nx\r\n");
	buf_reset(&b);

	/* The hex length is lowercase. */
	memset(big, 'a', sizeof(big));
	wse_put_content(&b, WSE_BINARY, big, sizeof(big));
	CHECK(b.len == 11 + 255 + 2);
	CHECK(memcmp(b.data, "BINARY ff\r\n", 11) == 0);
	buf_reset(&b);

	wse_put_close(&b, 1000, "bye");
	want = "CLOSE 5\r\n\x03\xe8" "bye\r\n";
	CHECK_INT(b.len, strlen(want));
	CHECK(memcmp(b.data, want, b.len) == 0);
	buf_reset(&b);
	wse_put_close(&b, 4001, NULL);
	want = "CLOSE 2\r\n\x0f\xa1\r\n";
	CHECK_INT(b.len, strlen(want));
	CHECK(memcmp(b.data, want, b.len) == 0);
	buf_free(&b);
}

static void test_roundtrip(void)
{
	struct buf b = {0};
	struct wse_event *ev;
	size_t count;
	char *copy, why[128];
	const char nul[] = { 'a', '\0', 'b', '\r', '\n', '\xff' };
	uint16_t code = 0;
	const char *reason;
	size_t rlen;

	wse_put(&b, WSE_OPEN);
	wse_put_text2(&b, "m:", "{\"a\":1}", 7);
	wse_put_content(&b, WSE_BINARY, nul, sizeof(nul));
	wse_put_content(&b, WSE_PING, "", 0);
	wse_put(&b, WSE_PONG);
	wse_put_close(&b, 1001, "going away");
	wse_put(&b, WSE_DISCONNECT);

	CHECK_INT(parse_exact(b.data, b.len, &copy, &ev, &count, why, sizeof(why)), 0);
	CHECK_INT(count, 7);
	CHECK_INT(ev[0].type, WSE_OPEN);
	CHECK_INT(ev[0].has_content, 0);
	CHECK_INT(ev[0].len, 0);
	CHECK(ev[0].data != NULL);
	CHECK_INT(ev[1].type, WSE_TEXT);
	CHECK_INT(ev[1].len, 9);
	CHECK(memcmp(ev[1].data, "m:{\"a\":1}", 9) == 0);
	CHECK_INT(ev[2].type, WSE_BINARY);
	CHECK_INT(ev[2].len, sizeof(nul));
	CHECK(memcmp(ev[2].data, nul, sizeof(nul)) == 0);
	CHECK_INT(ev[3].type, WSE_PING);
	CHECK_INT(ev[3].has_content, 1);
	CHECK_INT(ev[3].len, 0);
	CHECK_INT(ev[4].type, WSE_PONG);
	CHECK_INT(ev[4].has_content, 0);
	CHECK_INT(ev[5].type, WSE_CLOSE);
	CHECK_INT(wse_close_code(&ev[5], &code, &reason, &rlen), 1);
	CHECK_INT(code, 1001);
	CHECK_INT(rlen, 10);
	CHECK(memcmp(reason, "going away", 10) == 0);
	CHECK_INT(ev[6].type, WSE_DISCONNECT);
	/* Data points into the parsed copy, not elsewhere. */
	for (size_t i = 0; i < count; i++)
		CHECK(ev[i].data >= copy && ev[i].data + ev[i].len <= copy + b.len);
	free(ev);
	free(copy);
	buf_free(&b);
}

static void test_close_code(void)
{
	struct wse_event bare = { WSE_CLOSE, "", 0, 0 };
	struct wse_event one = { WSE_CLOSE, "\x03", 1, 1 };
	struct wse_event two = { WSE_CLOSE, "\x03\xe8", 2, 1 };
	struct wse_event high = { WSE_CLOSE, "\xff\xfe" "r", 3, 1 };
	uint16_t code = 7;
	const char *reason = "x";
	size_t rlen = 9;

	CHECK_INT(wse_close_code(&bare, &code, &reason, &rlen), 0);
	CHECK_INT(code, 7);
	CHECK(reason == NULL);
	CHECK_INT(rlen, 0);
	CHECK_INT(wse_close_code(&one, &code, &reason, &rlen), 0);
	CHECK_INT(wse_close_code(&two, &code, &reason, &rlen), 1);
	CHECK_INT(code, 1000);
	CHECK_INT(rlen, 0);
	CHECK_INT(wse_close_code(&high, &code, NULL, NULL), 1);
	CHECK_INT(code, 0xfffe);
}

static void test_event_cap(void)
{
	struct buf b = {0};
	struct wse_event *ev = NULL;
	size_t count = 0;
	char *copy, why[128] = "";

	for (int i = 0; i < WSE_MAX_EVENTS; i++)
		wse_put(&b, WSE_PING);
	CHECK_INT(parse_exact(b.data, b.len, &copy, &ev, &count, why, sizeof(why)), 0);
	CHECK_INT(count, WSE_MAX_EVENTS);
	free(ev);
	free(copy);

	wse_put(&b, WSE_PING);
	CHECK_INT(parse_exact(b.data, b.len, &copy, &ev, &count, why, sizeof(why)), -1);
	CHECK(ev == NULL);
	CHECK_INT(count, 0);
	CHECK(strstr(why, "too many events") != NULL);
	free(copy);
	buf_free(&b);
}

/* Every cut of a valid batch parses only at an event boundary, and never reads past the cut. */
static void test_every_prefix(void)
{
	struct buf b = {0};
	size_t bounds[8], nb = 0;

	bounds[nb++] = 0;
	wse_put(&b, WSE_OPEN);
	bounds[nb++] = b.len;
	wse_put_text2(&b, "m:", "{\"x\":\"\r\n\"}", 10);
	bounds[nb++] = b.len;
	wse_put_close(&b, 1000, "done");
	bounds[nb++] = b.len;
	wse_put_content(&b, WSE_BINARY, "\0\0\0", 3);
	bounds[nb++] = b.len;
	wse_put(&b, WSE_DISCONNECT);
	bounds[nb++] = b.len;

	for (size_t cut = 0, k = 0; cut <= b.len; cut++) {
		struct wse_event *ev = NULL;
		size_t count = 0;
		char *copy, why[128];
		int at_bound = k < nb && bounds[k] == cut;
		int rc = parse_exact(b.data, cut, &copy, &ev, &count, why, sizeof(why));

		if (at_bound) {
			if (rc != 0)
				printf("# cut %zu: %s\n", cut, why);
			CHECK_INT(rc, 0);
			CHECK_INT(count, k);
			k++;
		} else {
			if (rc == 0)
				printf("# cut %zu parsed\n", cut);
			CHECK_INT(rc, -1);
		}
		free(ev);
		free(copy);
	}
	buf_free(&b);
}

/* Random byte changes to a valid batch: never a crash or an out-of-bounds read. */
static void test_mutations(void)
{
	struct buf b = {0};
	unsigned seed = 12345;
	static const char alphabet[] = "\r\n 0123456789abcdefABCDEFOPENTXTCLOSE\0\xff";

	wse_put(&b, WSE_OPEN);
	wse_put_text2(&b, "m:", "{\"action\":\"echo\"}", 17);
	wse_put_close(&b, 1000, "x");
	wse_put(&b, WSE_DISCONNECT);

	for (int round = 0; round < 20000; round++) {
		char *copy = exact_copy(b.data, b.len);
		struct wse_event *ev = NULL;
		size_t count = 0, len = b.len;
		int changes;

		seed = seed * 1103515245u + 12345u;
		changes = 1 + (int)((seed >> 16) % 3);
		for (int c = 0; c < changes; c++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			copy[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 4 == 0)
			len = (seed >> 4) % (len + 1);
		if (wse_parse(copy, len, &ev, &count, NULL, 0) == 0) {
			for (size_t i = 0; i < count; i++) {
				CHECK(ev[i].data >= copy && ev[i].data + ev[i].len <= copy + len);
				CHECK((unsigned)ev[i].type <= WSE_DISCONNECT);
			}
		} else {
			CHECK(ev == NULL);
			CHECK_INT(count, 0);
		}
		free(ev);
		free(copy);
	}
	buf_free(&b);
}

static void test_large_content(void)
{
	size_t n = 8u << 20;
	char *big = xmalloc(n), *copy, why[128];
	struct buf b = {0};
	struct wse_event *ev;
	size_t count;

	memset(big, 'z', n);
	wse_put_content(&b, WSE_BINARY, big, n);
	wse_put(&b, WSE_PING);
	CHECK_INT(parse_exact(b.data, b.len, &copy, &ev, &count, why, sizeof(why)), 0);
	CHECK_INT(count, 2);
	CHECK_INT(ev[0].len, n);
	CHECK(memcmp(ev[0].data, big, n) == 0);
	free(ev);
	free(copy);
	free(big);
	buf_free(&b);
}

static void test_null_body_and_why(void)
{
	struct wse_event *ev = (struct wse_event *)1;
	size_t count = 5;
	char why[8];

	CHECK_INT(wse_parse(NULL, 0, &ev, &count, NULL, 0), 0);
	CHECK(ev == NULL);
	CHECK_INT(count, 0);
	CHECK_INT(wse_parse(NULL, 3, &ev, &count, NULL, 0), -1);
	/* A small why buffer is filled without overflow. */
	CHECK_INT(wse_parse("nope\r\n", 6, &ev, &count, why, sizeof(why)), -1);
	CHECK_INT(strlen(why), sizeof(why) - 1);
	CHECK_INT(wse_parse("nope\r\n", 6, &ev, &count, why, 0), -1);
}

static void test_why_has_offset(void)
{
	struct wse_event *ev;
	size_t count;
	char why[128];
	const char body[] = "OPEN\r\nTEXT 1\r\nab\r\n";

	CHECK_INT(wse_parse(body, sizeof(body) - 1, &ev, &count, why, sizeof(why)), -1);
	CHECK_STR(why, "expected CRLF after content at offset 15");
}

static const struct tap_test unit_tests[] = {
	TAP_TEST(test_type_names),
	TAP_TEST(test_put_exact_bytes),
	TAP_TEST(test_roundtrip),
	TAP_TEST(test_close_code),
	TAP_TEST(test_event_cap),
	TAP_TEST(test_every_prefix),
	TAP_TEST(test_mutations),
	TAP_TEST(test_large_content),
	TAP_TEST(test_null_body_and_why),
	TAP_TEST(test_why_has_offset),
};

/* ---- runner ------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the case directories, sorted. Returns their count (-1 if the directory is unreadable). */
static long list_cases(char ***names)
{
	struct buf path = {0};
	DIR *d = opendir(cases_dir(&path));
	struct dirent *de;
	size_t n = 0, cap = 0;

	*names = NULL;
	buf_free(&path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			*names = xrealloc(*names, cap * sizeof(**names));
		}
		(*names)[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(*names, n, sizeof(**names), by_name);
	return (long)n;
}

/* Runs fn (or the case name) in a child process; returns 1 when it passed. */
static int run_one(void (*fn)(void), const char *case_name)
{
	pid_t pid;
	int status = 0;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 0;
	}
	if (pid == 0) {
		if (fn)
			fn();
		else
			run_case(case_name);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("# killed by signal %d\n", WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
	char **names;
	long ncases = list_cases(&names);
	size_t nunit = ARRAY_SIZE(unit_tests), test = 0;
	size_t nvalid = 0, ninvalid = 0;
	int failed = 0, ok;

	/* One extra test checks that the cases were found and that invalid ones outnumber valid ones. */
	printf("1..%zu\n", nunit + 1 + (size_t)(ncases > 0 ? ncases : 0));
	for (size_t i = 0; i < nunit; i++) {
		ok = run_one(unit_tests[i].fn, NULL);
		failed += !ok;
		printf("%s %zu - %s\n", ok ? "ok" : "not ok", ++test, unit_tests[i].name);
	}
	for (long i = 0; i < ncases; i++) {
		if (strncmp(names[i], "bad-", 4) == 0)
			ninvalid++;
		else
			nvalid++;
	}
	ok = ncases > 0 && ninvalid > nvalid;
	if (!ok)
		printf("# %ld cases found in %s/tests/cases/wse (%zu valid, %zu invalid)\n", ncases,
		       getenv("top_srcdir") ? getenv("top_srcdir") : ".", nvalid, ninvalid);
	failed += !ok;
	printf("%s %zu - cases found, more invalid than valid\n", ok ? "ok" : "not ok", ++test);
	for (long i = 0; i < ncases; i++) {
		ok = run_one(NULL, names[i]);
		failed += !ok;
		printf("%s %zu - case %s\n", ok ? "ok" : "not ok", ++test, names[i]);
		free(names[i]);
	}
	free(names);
	fflush(stdout);
	return failed ? 1 : 0;
}
