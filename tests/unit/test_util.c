/* test_util.c - unit tests for util.c (buffers, URL decoding, query parameters, tokens, time, randomness, files, whole reads and writes) and proc.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "tap.h"
#include "util.h"

/* Copies s into a buffer of exactly strlen(s) bytes, so ASan sees any read past the end. */
static char *exact(const char *s, size_t *n)
{
	char *p;

	*n = strlen(s);
	p = xmalloc(*n);
	memcpy(p, s, *n);
	return p;
}

/* url_decode on an exact-size copy of s; NULL when refused. */
static char *decode(const char *s, size_t *outlen)
{
	size_t n;
	char *in = exact(s, &n), *out = url_decode(in, n, outlen);

	free(in);
	return out;
}

static void test_buf_append_grows(void)
{
	struct buf b = {0};
	size_t last_cap = 0, grew = 0;

	for (size_t i = 0; i < 10000; i++) {
		buf_putc(&b, (char)('a' + i % 26));
		CHECK_INT(b.len, i + 1);
		CHECK(b.cap > b.len);
		CHECK_INT(b.data[b.len], '\0');
		if (b.cap != last_cap)
			grew++, last_cap = b.cap;
	}
	/* Doubling: a handful of reallocations, not one per byte. */
	CHECK(grew < 20);
	for (size_t i = 0; i < 10000; i++)
		CHECK_INT(b.data[i], 'a' + i % 26);
	buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.cap, 0);
}

static void test_buf_binary_and_strings(void)
{
	struct buf b = {0};

	buf_append(&b, "a\0b", 3);
	CHECK_INT(b.len, 3);
	CHECK(memcmp(b.data, "a\0b", 4) == 0); /* the fourth byte is the terminator */
	buf_puts(&b, "cd");
	buf_putc(&b, 'e');
	CHECK_INT(b.len, 6);
	CHECK(memcmp(b.data, "a\0bcde", 7) == 0);
	buf_append(&b, NULL, 0);
	CHECK_INT(b.len, 6);
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.data, "");
	CHECK(b.cap > 0);
	buf_free(&b);
}

static void test_buf_printf(void)
{
	struct buf b = {0};
	char big[1000];

	buf_printf(&b, "%s", "");
	CHECK(b.data != NULL);
	CHECK_STR(b.data, "");
	buf_printf(&b, "%d-%s-%zx", 42, "x", (size_t)255);
	CHECK_STR(b.data, "42-x-ff");
	CHECK_INT(b.len, 7);

	/* Output far larger than the first allocation. */
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "[%s]", big);
	CHECK_INT(b.len, 7 + 2 + 999);
	CHECK_INT(strlen(b.data), b.len);
	CHECK(b.data[7] == '[' && b.data[8] == 'q' && b.data[b.len - 1] == ']');
	buf_free(&b);
}

static void test_buf_detach(void)
{
	struct buf b = {0};
	char *s = buf_detach(&b);

	CHECK(s != NULL);
	CHECK_STR(s, "");
	free(s);
	buf_puts(&b, "hello");
	s = buf_detach(&b);
	CHECK_STR(s, "hello");
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	free(s);
}

static void test_xstrdup(void)
{
	char *s = xstrndup("abcdef", 3);

	CHECK_STR(s, "abc");
	free(s);
	s = xstrdup("xy");
	CHECK_STR(s, "xy");
	free(s);
	CHECK(xstrdup(NULL) == NULL);
}

static void test_url_decode_valid(void)
{
	size_t n = 99;
	char *s;

	s = decode("", &n);
	CHECK_STR(s, "");
	CHECK_INT(n, 0);
	free(s);
	s = decode("plain", &n);
	CHECK_STR(s, "plain");
	CHECK_INT(n, 5);
	free(s);
	s = decode("a%20b+c", &n);
	CHECK_STR(s, "a b c");
	free(s);
	s = decode("%41%42%2b%2B", &n);
	CHECK_STR(s, "AB++");
	CHECK_INT(n, 4);
	free(s);
	s = decode("caf%c3%A9", &n);
	CHECK_STR(s, "caf\xc3\xa9");
	CHECK_INT(n, 5);
	free(s);
	s = decode("%25", NULL); /* outlen may be NULL */
	CHECK_STR(s, "%");
	free(s);
	/* Only n bytes count. */
	s = url_decode("ab%41zz", 5, &n);
	CHECK_STR(s, "abA");
	free(s);
}

static void test_url_decode_malformed(void)
{
	static const char *const bad[] = {
		"%", "%4", "a%4", "%zz", "%4g", "%g4", "%00", "a%00b", "%%41", "% 41",
	};
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *s = decode(bad[i], &n);
		if (s)
			printf("# \"%s\" decoded to \"%s\"\n", bad[i], s);
		CHECK(s == NULL);
	}
	/* A raw NUL byte inside the input is refused too. */
	CHECK(url_decode("a\0b", 3, &n) == NULL);
}

/* query_param(q, name) is want (a string, freed here). */
static void check_param(const char *q, const char *name, const char *want)
{
	char *v = query_param(q, name);

	CHECK_STR(v, want);
	free(v);
}

static void test_query_param(void)
{
	static const char q[] = "a=1&bb=two&Authorization=tok%2Bx%20y&empty=&flag&last=z";

	check_param(q, "a", "1");
	check_param(q, "bb", "two");
	check_param(q, "Authorization", "tok+x y");
	check_param(q, "empty", "");
	check_param(q, "last", "z");

	CHECK(query_param(q, "b") == NULL);      /* prefix of "bb" */
	CHECK(query_param(q, "flag") == NULL);   /* no value */
	CHECK(query_param(q, "missing") == NULL);
	CHECK(query_param(q, "two") == NULL);    /* a value, not a name */
	CHECK(query_param("Authorizationx=1", "Authorization") == NULL);
	CHECK(query_param("xAuthorization=1", "Authorization") == NULL);
	CHECK(query_param("", "a") == NULL);
	CHECK(query_param(NULL, "a") == NULL);
	CHECK(query_param("a=%zz", "a") == NULL);

	check_param("Authorizationx=1&Authorization=2", "Authorization", "2");
	check_param("a=1&a=2", "a", "1"); /* the first one wins */
	check_param("&&a=1&", "a", "1");
	check_param("a==1", "a", "=1");
}

static void test_str_is_token(void)
{
	CHECK(str_is_token("abcXYZ019", 9, 9, NULL));
	CHECK(!str_is_token("abcXYZ019", 9, 8, NULL));
	CHECK(!str_is_token("", 0, 10, NULL));
	CHECK(!str_is_token(NULL, 3, 10, NULL));
	CHECK(str_is_token("a.b-c_d", 7, 64, "._-"));
	CHECK(!str_is_token("a.b", 3, 64, NULL));
	CHECK(!str_is_token("a b", 3, 64, "._-"));
	CHECK(!str_is_token("a/b", 3, 64, "._-"));
	CHECK(!str_is_token("caf\xc3\xa9", 5, 64, "._-"));
	/* A NUL inside never matches, even though strchr finds extra's terminator. */
	CHECK(!str_is_token("a\0b", 3, 64, "._-"));
	/* Only n bytes are looked at. */
	CHECK(str_is_token("ab!", 2, 64, NULL));
}

static void test_ct_equal(void)
{
	CHECK(ct_equal("secret", 6, "secret", 6));
	CHECK(!ct_equal("secret", 6, "secreT", 6));
	CHECK(!ct_equal("secret", 6, "Secret", 6));
	CHECK(!ct_equal("secret", 6, "secret!", 7));
	CHECK(!ct_equal("secret", 6, "secre", 5));
	CHECK(ct_equal("", 0, "", 0));
	CHECK(ct_equal("a\0b", 3, "a\0b", 3));
	CHECK(!ct_equal("a\0b", 3, "a\0c", 3));
}

static void check_time(int64_t ms, const char *want)
{
	char out[32];

	memset(out, 'X', sizeof(out));
	time_rfc3339(ms, out);
	CHECK_STR(out, want);
	/* Never more than the 25 bytes the header promises. */
	for (size_t i = 25; i < sizeof(out); i++)
		CHECK_INT(out[i], 'X');
}

static void test_time_rfc3339(void)
{
	check_time(0, "1970-01-01T00:00:00.000Z");
	check_time(999, "1970-01-01T00:00:00.999Z");
	check_time(1000, "1970-01-01T00:00:01.000Z");
	check_time(1700000000123, "2023-11-14T22:13:20.123Z");
	/* The same second again (its text is cached), then another and back. */
	check_time(1700000000999, "2023-11-14T22:13:20.999Z");
	check_time(1700000001000, "2023-11-14T22:13:21.000Z");
	check_time(1700000000001, "2023-11-14T22:13:20.001Z");
	check_time(951782400007, "2000-02-29T00:00:00.007Z");
	check_time(253402300799999, "9999-12-31T23:59:59.999Z");
	/* Out of range: clamped, the format stays fixed. */
	check_time(-1, "1970-01-01T00:00:00.000Z");
	check_time(INT64_MIN, "1970-01-01T00:00:00.000Z");
	check_time(253402300800000, "9999-12-31T23:59:59.999Z");
	check_time(INT64_MAX, "9999-12-31T23:59:59.999Z");
}

static void test_time_now(void)
{
	int64_t a = time_now_ms();

	CHECK(a > 1700000000000);
	CHECK(time_now_ms() >= a);
}

static void test_time_mono(void)
{
	int64_t a = time_mono_us(), b;

	usleep(5000);
	b = time_mono_us();
	CHECK(b - a >= 5000); /* microseconds, and it moves forward */
	CHECK(b - a < 5000000);
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void test_random_hex(void)
{
	char a[300], b[300];

	memset(a, 'X', sizeof(a));
	random_hex(a, 12);
	CHECK_INT(strlen(a), 24);
	CHECK(all_hex(a, 24));
	CHECK_INT(a[25], 'X'); /* nothing written past the terminator */
	random_hex(b, 12);
	CHECK(strcmp(a, b) != 0);

	/* More than the internal 64-byte chunk. */
	memset(a, 'X', sizeof(a));
	random_hex(a, 100);
	CHECK_INT(strlen(a), 200);
	CHECK(all_hex(a, 200));
	CHECK_INT(a[201], 'X');

	random_hex(a, 0);
	CHECK_STR(a, "");
}

static void test_random_bytes_vary(void)
{
	unsigned char x[32], y[32];

	random_bytes(x, sizeof(x));
	random_bytes(y, sizeof(y));
	CHECK(memcmp(x, y, sizeof(x)) != 0);
}

/* A forked child never hands out the bytes its parent's pool still holds. */
static void test_random_pool_after_fork(void)
{
	unsigned char mine[8], theirs[8];
	int fds[2], status;
	pid_t kid;

	random_bytes(mine, 1); /* the pool is filled now */
	CHECK(pipe(fds) == 0);
	kid = fork();
	CHECK(kid >= 0);
	if (kid == 0) {
		random_bytes(theirs, sizeof theirs);
		_exit(write(fds[1], theirs, sizeof theirs) == (ssize_t)sizeof theirs ? 0 : 1);
	}
	random_bytes(mine, sizeof mine);
	CHECK(read(fds[0], theirs, sizeof theirs) == (ssize_t)sizeof theirs);
	CHECK(waitpid(kid, &status, 0) == kid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(memcmp(mine, theirs, sizeof mine) != 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_file_read(void)
{
	char path[] = "/tmp/streamer-test-util-XXXXXX";
	int fd = mkstemp(path);
	char big[10000];
	size_t n = 99;
	char *s;

	CHECK(fd >= 0);
	s = file_read(path, 100, &n);
	CHECK_STR(s, "");
	CHECK_INT(n, 0);
	free(s);

	memset(big, 'r', sizeof(big));
	big[5] = '\0';
	CHECK_INT(write(fd, big, sizeof(big)), sizeof(big));
	close(fd);
	s = file_read(path, sizeof(big), &n);
	CHECK(s != NULL);
	CHECK_INT(n, sizeof(big));
	CHECK(memcmp(s, big, sizeof(big)) == 0);
	CHECK_INT(s[n], '\0');
	free(s);

	errno = 0;
	CHECK(file_read(path, sizeof(big) - 1, &n) == NULL);
	CHECK_INT(errno, EFBIG);
	unlink(path);
	errno = 0;
	CHECK(file_read(path, 100, &n) == NULL);
	CHECK_INT(errno, ENOENT);
}

/* utf8_repair of the n bytes s must give want (a C string). */
static void repaired(const char *s, size_t n, const char *want)
{
	struct buf b = { 0 };

	utf8_repair(&b, s, n);
	if (strcmp(b.data, want) != 0) {
		printf("# repair of %zu bytes gave \"%s\", want \"%s\"\n", n, b.data, want);
		CHECK(0);
	}
	CHECK_INT(b.len, strlen(want));
	buf_free(&b);
}

static void test_utf8_repair(void)
{
	char *d;

	repaired("", 0, "");
	repaired("Mozilla/5.0 (X11)", 17, "Mozilla/5.0 (X11)");
	repaired("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	repaired("a\xff" "b", 3, "a\xef\xbf\xbd" "b");                    /* a stray byte */
	repaired("\xc3", 1, "\xef\xbf\xbd");                               /* cut short */
	repaired("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");               /* overlong '/' */
	repaired("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
	repaired("\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* past U+10FFFF */
	repaired("a\0b", 3, "a\xef\xbf\xbd" "b");                           /* an embedded NUL */
	d = utf8_repair_dup("x\x80y");
	CHECK_STR(d, "x\xef\xbf\xbdy");
	free(d);
	CHECK(utf8_repair_dup(NULL) == NULL);
	/* What jansson refused before is now a string it takes. */
	{
		json_t *j;

		d = utf8_repair_dup("curl/8 \xfe\xfe");
		j = json_pack("{s:s}", "user_agent", d);
		CHECK(j != NULL);
		json_decref(j);
		free(d);
	}
}

/*
 * Long text goes eight bytes at a time: a bad byte, a NUL or a multi-byte
 * character at every offset of a 40-byte ASCII text is still found.
 */
static void test_utf8_repair_every_offset(void)
{
	static const struct { const char *insert; size_t n; const char *becomes; } cases[] = {
		{ "\xff", 1, "\xef\xbf\xbd" }, { "", 1, "\xef\xbf\xbd" }, { "\x80", 1, "\xef\xbf\xbd" },
		{ "\xe2\x82\xac", 3, "\xe2\x82\xac" }, { "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
	};
	char in[64], want[64];

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		for (size_t k = 0; k <= 40; k++) {
			size_t n = 0;

			memset(in, 'a', k);
			memcpy(in + k, cases[c].insert, cases[c].n);
			n = k + cases[c].n;
			memset(in + n, 'z', 40 - k);
			n += 40 - k;
			snprintf(want, sizeof(want), "%.*s%s%.*s", (int)k, in, cases[c].becomes,
				 (int)(40 - k), in + k + cases[c].n);
			repaired(in, n, want);
			if (cases[c].insert[0]) {
				char *d;

				in[n] = '\0';
				d = utf8_repair_dup(in);
				CHECK_STR(d, want);
				free(d);
			}
		}
	}
}

static void redacts(const char *s, const char *want)
{
	struct buf b = { 0 };

	str_redact_credentials(&b, s);
	if (strcmp(b.data, want) != 0) {
		printf("# redact \"%s\"\n#   gave \"%s\"\n#   want \"%s\"\n", s, b.data, want);
		CHECK(0);
	}
	CHECK(str_has_credentials(s) == (strcmp(s, want) != 0));
	buf_free(&b);
}

static void test_redact_credentials(void)
{
	redacts("", "");
	redacts("POST http://127.0.0.1:5561/publish/: HTTP 500 boom",
		"POST http://127.0.0.1:5561/publish/: HTTP 500 boom");
	redacts("POST https://bob:hunter2@push.example.com/publish/: Couldn't connect",
		"POST https://***@push.example.com/publish/: Couldn't connect");
	redacts("http://user@host/x", "http://***@host/x");
	redacts("http://a:b@c@host:8080?x=1", "http://***@host:8080?x=1");
	redacts("/ws?Authorization=eyJhbGciOi.eyJzdWIi.c2ln&x=1",
		"/ws?Authorization=***&x=1");
	redacts("Authorization=eyJ.x.y", "Authorization=***");
	redacts("/api/connect?a=1&token=abc#frag", "/api/connect?a=1&token=***#frag");
	redacts("https://h/p?X-Amz-Credential=AKID%2F20260101&X-Amz-Signature=deadbeef&X-Amz-Date=1 end",
		"https://h/p?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=*** end");
	redacts("?ACCESS_TOKEN=a&api_key=b&password=c&keep=d",
		"?ACCESS_TOKEN=***&api_key=***&password=***&keep=d");
	redacts("header Authorization: Bearer abc.def.ghi, next", "header Authorization: Bearer ***, next");
	redacts("tokens=1&monkey=2", "tokens=1&monkey=2");
	redacts("a ://nothing@ here", "a ://***@ here");
	redacts("no url here, just text @ and ? and &", "no url here, just text @ and ? and &");
}

/* More than a pipe holds: the writer is held up and both sides see short transfers. */
static void test_write_read_all(void)
{
	enum { N = 300000 };
	char *out = xmalloc(N), *in = xmalloc(N + 1);
	int fds[2];
	pid_t pid;

	for (size_t i = 0; i < N; i++)
		out[i] = (char)(i * 7 + i / 251);
	CHECK_INT(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		_exit(write_all(fds[1], out, N) == 0 ? 0 : 1);
	}
	close(fds[1]);
	CHECK_INT(read_all(fds[0], in, N), 0);
	CHECK(memcmp(in, out, N) == 0);
	CHECK_INT(read_all(fds[0], in, 1), -1); /* end of file */
	close(fds[0]);
	{
		int status = -1;

		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	/* Nobody reads: the write fails (SIGPIPE ignored here). */
	signal(SIGPIPE, SIG_IGN);
	CHECK_INT(pipe(fds), 0);
	close(fds[0]);
	CHECK_INT(write_all(fds[1], out, 10), -1);
	CHECK_INT(errno, EPIPE);
	close(fds[1]);
	free(out);
	free(in);
}

/* A child in its own group that sleeps; ignore_term makes it outlast SIGTERM. */
static pid_t sleeper(int ignore_term)
{
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	setpgid(pid, pid);
	return pid;
}

static void test_proc_stop_group(void)
{
	int64_t t0;
	int status;
	pid_t pid;

	/* SIGTERM is enough: no wait for the grace time. */
	pid = sleeper(0);
	t0 = time_now_ms();
	status = proc_stop_group(pid, -1, 5000);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	CHECK(time_now_ms() - t0 < 2000);

	/* SIGTERM ignored: SIGKILL once the grace time is over. */
	pid = sleeper(1);
	usleep(50000); /* let it ignore SIGTERM before it is sent */
	t0 = time_now_ms();
	status = proc_stop_group(pid, -1, 200);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(time_now_ms() - t0 >= 200);

	/* Exited already: its status, reaped. */
	pid = fork();
	if (pid == 0)
		_exit(3);
	setpgid(pid, pid);
	usleep(50000);
	status = proc_stop_group(pid, -1, 1000);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK_INT(waitpid(pid, NULL, WNOHANG), -1); /* reaped */
}

TAP_MAIN(
	TAP_TEST(test_write_read_all),
	TAP_TEST(test_proc_stop_group),
	TAP_TEST(test_utf8_repair),
	TAP_TEST(test_utf8_repair_every_offset),
	TAP_TEST(test_redact_credentials),
	TAP_TEST(test_buf_append_grows),
	TAP_TEST(test_buf_binary_and_strings),
	TAP_TEST(test_buf_printf),
	TAP_TEST(test_buf_detach),
	TAP_TEST(test_xstrdup),
	TAP_TEST(test_url_decode_valid),
	TAP_TEST(test_url_decode_malformed),
	TAP_TEST(test_query_param),
	TAP_TEST(test_str_is_token),
	TAP_TEST(test_ct_equal),
	TAP_TEST(test_time_rfc3339),
	TAP_TEST(test_time_now),
	TAP_TEST(test_time_mono),
	TAP_TEST(test_random_hex),
	TAP_TEST(test_random_bytes_vary),
	TAP_TEST(test_random_pool_after_fork),
	TAP_TEST(test_file_read),
)
