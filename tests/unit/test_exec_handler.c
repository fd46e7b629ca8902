/* test_exec_handler.c - unit tests for exec handlers: results, progress, failures, timeouts, cancellation, large output, no leaks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "exec_handler.h"
#include "tap.h"
#include "tmpdir.h"
#include "test_ctx.h"
#include "util.h"

/* Under /tmp, not $TMPDIR: the paths of its scripts go into short fixed buffers. */
static char dir[64];

/* Writes an executable /bin/sh script called name into the test directory; returns its path (static). */
static const char *script(const char *name, const char *body)
{
	static char path[8][128];
	static int next;
	char *p = path[next++ % 8];
	FILE *f;

	if (!dir[0])
		tmpdir_make_in(dir, sizeof dir, "/tmp", "streamer-test-exec");
	snprintf(p, sizeof path[0], "%s/%s", dir, name);
	f = fopen(p, "w");
	CHECK(f != NULL);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	CHECK(fclose(f) == 0);
	CHECK(chmod(p, 0755) == 0);
	return p;
}

static void cleanup(void)
{
	if (dir[0] && tmpdir_remove(dir) != 0)
		printf("# could not remove %s\n", dir);
}

static int run(const char *path, const struct exec_options *opt, struct tctx *t,
	       const char *payload, json_t **result, struct streamer_error *err)
{
	json_t *p = payload ? json_loads(payload, JSON_DECODE_ANY, NULL) : NULL;
	int rc;

	CHECK(!payload || p);
	memset(err, 0, sizeof *err);
	*result = NULL;
	rc = exec_run(path, opt, &t->ctx, p, result, err);
	json_decref(p);
	return rc;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

/* 1 when pid is a live process (not gone, not a zombie). */
static int alive(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	char *p;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* 1 when pid is gone within a second (a killed process may take a moment). */
static int dies(pid_t pid)
{
	for (int i = 0; i < 100 && alive(pid); i++)
		usleep(10000);
	return !alive(pid);
}

static pid_t read_pid(const char *name)
{
	char path[128];
	size_t len;
	char *text;
	pid_t pid;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	text = file_read(path, 64, &len);
	CHECK(text != NULL);
	pid = (pid_t)atoi(text);
	free(text);
	CHECK(pid > 1);
	return pid;
}

/* No child of ours is left, not even a zombie. */
static void check_no_children(void)
{
	errno = 0;
	CHECK_INT(waitpid(-1, NULL, WNOHANG), -1);
	CHECK_INT(errno, ECHILD);
}

/* ---- results and progress --------------------------------------------------------------- */

static void test_success(void)
{
	const char *s = script("ok.sh",
			       "payload=$(cat)\n"
			       "echo 'PROGRESS 10 starting'\n"
			       "echo 'a line that is not the result'\n"
			       "echo 'PROGRESS 55.7 half way there'\n"
			       "printf '{\"got\":%s,\"req\":\"%s\",\"tenant\":\"%s\",\"user\":\"%s\",\"action\":\"%s\",\"attempt\":%s,"
			       "\"out\":\"%s\",\"grip\":\"%s\",\"keep\":\"%s\"}\\n' \"$payload\" \"$STREAMER_REQUEST_ID\" "
			       "\"$STREAMER_TENANT_ID\" \"$STREAMER_USER_ID\" \"$STREAMER_ACTION\" \"$STREAMER_ATTEMPT\" "
			       "\"$STREAMER_OUTPUT_DIR\" \"${STREAMER_GRIP_KEY:-unset}\" \"$TEST_KEEP\"\n"
			       "echo '   '\n");
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	setenv("STREAMER_GRIP_KEY", "secret", 1); /* settings stay private */
	setenv("TEST_KEEP", "kept", 1);           /* and so does anything else not needed to run */
	tctx_init(&t, "ok");
	t.ctx.output_dir = "/srv/out";
	t.ctx.attempt = 2;
	CHECK_INT(run(s, NULL, &t, "{\"n\":[1,2,\"ü\"]}", &r, &err), 0);
	check_json(r, "{\"got\":{\"n\":[1,2,\"ü\"]},\"req\":\"r1\",\"tenant\":\"acme\",\"user\":\"alice\","
		      "\"action\":\"ok\",\"attempt\":2,\"out\":\"/srv/out\",\"grip\":\"unset\",\"keep\":\"\"}");
	CHECK_INT(t.calls, 2);
	CHECK_INT(t.pct[0], 10);
	CHECK_STR(t.msg[0], "starting");
	CHECK_INT(t.pct[1], 55);
	CHECK_STR(t.msg[1], "half way there");
	CHECK_INT(t.meta[1], 0);
	json_decref(r);
	check_no_children();
	cleanup();
}

static void test_line_endings(void)
{
	const char *s = script("crlf.sh", "printf 'PROGRESS 20 a\\r\\n[1,\\r\\n\"x\"]\\r\\n{\"last\":true}'");
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	tctx_init(&t, "crlf");
	/* CRLF is taken off; the last line counts without a newline too */
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), 0);
	check_json(r, "{\"last\":true}");
	CHECK_INT(t.calls, 1);
	CHECK_STR(t.msg[0], "a");
	json_decref(r);

	/* nothing but progress: the result is null */
	s = script("none.sh", "cat >/dev/null; echo PROGRESS 50; echo; echo 'PROGRESS 60 x'");
	tctx_init(&t, "none");
	CHECK_INT(run(s, NULL, &t, "null", &r, &err), 0);
	CHECK(r == NULL);
	CHECK_INT(t.calls, 2);
	CHECK_STR(t.msg[0], "");
	cleanup();
}

static void test_progress_lines(void)
{
	const char *s = script("prog.sh",
			       "echo 'PROGRESS abc not a number'\n"
			       "echo 'PROGRESS 12abc glued'\n"
			       "echo 'PROGRESS'\n"
			       "echo 'PROGRESS 150 over'\n"
			       "echo 'PROGRESS -5 under'\n"
			       "echo 'PROGRESS\t7\tTabs'\n"
			       "printf 'PROGRESS 8 bad \\377\\001 bytes\\n'\n"
			       "echo 'PROGRESSIVE 5'\n"
			       "echo '{\"r\":1}'\n");
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	tctx_init(&t, "prog");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), 0);
	check_json(r, "{\"r\":1}");
	CHECK_INT(t.calls, 4); /* malformed PROGRESS lines are ignored */
	CHECK_INT(t.pct[0], 100);
	CHECK_STR(t.msg[0], "over");
	CHECK_INT(t.pct[1], 0);
	CHECK_INT(t.pct[2], 7);
	CHECK_STR(t.msg[2], "Tabs");
	CHECK_STR(t.msg[3], "bad ?  bytes"); /* made valid UTF-8, no control characters */
	json_decref(r);

	/* "PROGRESSIVE 5" is an ordinary line: the last one is the result */
	s = script("prog2.sh", "echo '{\"r\":1}'; echo 'PROGRESSIVE 5'");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(strstr(err.message, "not JSON") != NULL);
	cleanup();
}

/* ---- failures ------------------------------------------------------------------------------- */

static void test_failure_exit(void)
{
	const char *s = script("fail.sh",
			       "i=0; while [ $i -lt 300 ]; do echo \"noise line $i\" >&2; i=$((i+1)); done\n"
			       "echo 'FATAL: the disk is full' >&2\n"
			       "echo '{\"partial\":true}'\n"
			       "exit 3\n");
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	tctx_init(&t, "fail");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK(r == NULL);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(strncmp(err.message, "The command exited with status 3: ", 34) == 0);
	/* the end of stderr, about 1 KiB of it, not the start */
	CHECK(strstr(err.message, "FATAL: the disk is full") != NULL);
	CHECK(strstr(err.message, "noise line 299") != NULL);
	CHECK(strstr(err.message, "noise line 1\n") == NULL);
	CHECK(strlen(err.message) > 34 + 900 && strlen(err.message) <= 34 + 1024);
	check_no_children();

	/* the stderr tail is cut to fit and made valid UTF-8 */
	s = script("fail2.sh", "printf 'x\\377y\\000z\\n\\n' >&2; exit 1");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.message, "The command exited with status 1: x?y z");
	{
		json_t *j = json_string(err.message); /* valid UTF-8 */

		CHECK(j != NULL);
		json_decref(j);
	}

	/* no stderr at all */
	s = script("fail3.sh", "exit 42");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.message, "The command exited with status 42");
	cleanup();
}

static void test_invalid_result(void)
{
	const char *s = script("bad.sh", "echo 'warning: odd' >&2; echo '{\"a\":'");
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	tctx_init(&t, "bad");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(strstr(err.message, "is not JSON") != NULL);
	CHECK(strstr(err.message, "warning: odd") != NULL);
	cleanup();
}

static void test_signals(void)
{
	const char *s = script("kill.sh", "echo dying >&2; kill -9 $$");
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	tctx_init(&t, "kill");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.message, "The command was killed by signal 9: dying");

	/* the host ignores SIGTERM and SIGPIPE; the command gets the defaults back */
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	s = script("term.sh", "kill -TERM $$; echo '\"survived\"'");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.message, "The command was killed by signal 15");
	cleanup();
}

static void test_cannot_run(void)
{
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	const char *s;

	tctx_init(&t, "none");
	CHECK_INT(run("/nonexistent/cmd", NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK_STR(err.message, "Could not run the command: No such file or directory");
	s = script("noexec.sh", "echo 1");
	CHECK(chmod(s, 0644) == 0);
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK(strstr(err.message, "Permission denied") != NULL); /* even for root: no x bit */
	check_no_children();
	cleanup();
}

/* ---- stopping it --------------------------------------------------------------------------- */

static void test_timeout(void)
{
	const char *s = script("slow.sh", "cat >/dev/null; sleep 30 & echo $! > \"$(dirname \"$0\")/bg.pid\"; wait");
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int64_t t0 = streamer_now_ms(), took;
	pid_t bg;

	tctx_init(&t, "slow");
	t.ctx.deadline_ms = t0 + 300;
	CHECK_INT(run(s, NULL, &t, "{}", &r, &err), -1);
	took = streamer_now_ms() - t0;
	CHECK_STR(err.code, STREAMER_E_TIMEOUT);
	CHECK(took >= 290 && took < 2000);
	bg = read_pid("bg.pid");
	CHECK(dies(bg)); /* the whole process group went */
	check_no_children();

	/* past its deadline before it starts: not started at all */
	s = script("late.sh", "touch \"$(dirname \"$0\")/ran\"");
	tctx_init(&t, "late");
	t.ctx.deadline_ms = streamer_now_ms() - 1;
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_TIMEOUT);
	t.ctx.deadline_ms = 0;
	t.stopped = 1;
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	{
		char ran[128];

		snprintf(ran, sizeof ran, "%s/ran", dir);
		CHECK(access(ran, F_OK) != 0);
	}
	cleanup();
}

static void test_timeout_term_ignored(void)
{
	const char *s = script("stubborn.sh", "trap '' TERM; echo 'PROGRESS 1 ignoring TERM'; while :; do sleep 0.05; done");
	struct exec_options opt = { .kill_grace_ms = 300 };
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int64_t t0 = streamer_now_ms(), took;

	tctx_init(&t, "stubborn");
	t.ctx.deadline_ms = t0 + 200;
	CHECK_INT(run(s, &opt, &t, NULL, &r, &err), -1);
	took = streamer_now_ms() - t0;
	CHECK_STR(err.code, STREAMER_E_TIMEOUT);
	/* SIGTERM at ~200 ms is ignored; SIGKILL after the 300 ms grace */
	CHECK(took >= 490 && took < 1500);
	CHECK_INT(t.calls, 1);
	check_no_children();
	cleanup();
}

static void test_cancel(void)
{
	const char *s = script("long.sh", "echo 'PROGRESS 10 go'; sleep 30; echo 'PROGRESS 20 never'");
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int64_t t0 = streamer_now_ms();

	/* the progress callback says stop */
	tctx_init(&t, "long");
	t.stop_at = 1;
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK(streamer_now_ms() - t0 < 1500);
	CHECK_INT(t.calls, 1);
	check_no_children();

	/* the context says cancelled while the command is quiet */
	s = script("quiet.sh", "sleep 30");
	tctx_init(&t, "quiet");
	t0 = streamer_now_ms();
	t.cancel_at_ms = t0 + 300;
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK(streamer_now_ms() - t0 < 1000);
	check_no_children();
	cleanup();
}

static void test_leftovers_killed(void)
{
	/* exits at once, but a background child keeps stdout open */
	const char *s = script("bg.sh", "sleep 30 & echo $! > \"$(dirname \"$0\")/left.pid\"; echo '{\"ok\":1}'");
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int64_t t0 = streamer_now_ms();

	tctx_init(&t, "bg");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), 0);
	check_json(r, "{\"ok\":1}");
	CHECK(streamer_now_ms() - t0 < 1500);
	CHECK(dies(read_pid("left.pid")));
	json_decref(r);

	/* a background child that let go of every output: killed all the same */
	s = script("bg2.sh", "sleep 30 </dev/null >/dev/null 2>&1 & echo $! > \"$(dirname \"$0\")/left2.pid\"; echo 1");
	CHECK_INT(run(s, NULL, &t, NULL, &r, &err), 0);
	check_json(r, "1");
	CHECK(dies(read_pid("left2.pid")));
	json_decref(r);
	check_no_children();
	cleanup();
}

/* ---- volume ----------------------------------------------------------------------------------- */

static void test_large_output(void)
{
	/* 1 MB payload in, 5 MB of other lines and 1 MB of stderr out, then a 1 MB result */
	const char *s = script("big.sh",
			       "payload=$(cat)\n"
			       "yes 'a line of noise that is not the result' | head -c 5000000\n"
			       "echo\n"
			       "yes 'stderr noise' | head -c 1000000 >&2\n"
			       "echo 'PROGRESS 90 nearly'\n"
			       "printf '{\"echo\":%s}\\n' \"$payload\"\n");
	struct buf p = { 0 };
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	buf_putc(&p, '"');
	for (int i = 0; i < 1000000; i++)
		buf_putc(&p, (char)('a' + i % 26));
	buf_putc(&p, '"');
	tctx_init(&t, "big");
	t.ctx.deadline_ms = streamer_now_ms() + 20000;
	CHECK_INT(run(s, NULL, &t, p.data, &r, &err), 0);
	CHECK_INT(json_string_length(json_object_get(r, "echo")), 1000000);
	CHECK(memcmp(json_string_value(json_object_get(r, "echo")), p.data + 1, 1000000) == 0);
	CHECK_INT(t.calls, 1);
	json_decref(r);
	buf_free(&p);
	check_no_children();
	cleanup();
}

static void test_unread_input(void)
{
	/* 4 MB of payload the command never reads: no SIGPIPE, no hang */
	const char *s = script("deaf.sh", "echo '{\"ok\":true}'");
	struct buf p = { 0 };
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	signal(SIGPIPE, SIG_DFL);
	buf_putc(&p, '[');
	for (int i = 0; i < 1000000; i++)
		buf_puts(&p, i ? ",123" : "123");
	buf_putc(&p, ']');
	tctx_init(&t, "deaf");
	CHECK_INT(run(s, NULL, &t, p.data, &r, &err), 0);
	check_json(r, "{\"ok\":true}");
	json_decref(r);
	buf_free(&p);
	cleanup();
}

static void test_line_limit(void)
{
	const char *s = script("long_line.sh", "yes | tr -d '\\n' | head -c 5000; echo; sleep 30");
	struct exec_options opt = { .line_max = 1000, .kill_grace_ms = 200 };
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int64_t t0 = streamer_now_ms();

	tctx_init(&t, "long_line");
	CHECK_INT(run(s, &opt, &t, NULL, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(strstr(err.message, "longer than 1000 bytes") != NULL);
	CHECK(streamer_now_ms() - t0 < 1500);
	check_no_children();
	cleanup();
}

/* ---- hygiene ----------------------------------------------------------------------------------- */

static void test_no_leaks(void)
{
	const char *ok = script("ok.sh", "cat; echo");
	const char *fail = script("fail.sh", "echo no >&2; exit 1");
	const char *slow = script("slow.sh", "sleep 5");
	const char *fd = script("fd.sh", "if [ -e /proc/$$/fd/42 ]; then echo '\"leaked\"'; else echo '\"clean\"'; fi");
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int before;

	/* a descriptor of the host without close-on-exec must not reach the command */
	CHECK_INT(dup2(open("/dev/null", O_RDONLY), 42), 42);
	before = count_fds();
	for (int i = 0; i < 5; i++) {
		tctx_init(&t, "x");
		CHECK_INT(run(ok, NULL, &t, "[1]", &r, &err), 0);
		json_decref(r);
		CHECK_INT(run(fail, NULL, &t, NULL, &r, &err), -1);
		t.ctx.deadline_ms = streamer_now_ms() + 50;
		CHECK_INT(run(slow, NULL, &t, NULL, &r, &err), -1);
		t.ctx.deadline_ms = 0;
		CHECK_INT(run("/nonexistent", NULL, &t, NULL, &r, &err), -1);
		CHECK_INT(run(fd, NULL, &t, NULL, &r, &err), 0);
		check_json(r, "\"clean\"");
		json_decref(r);
	}
	CHECK_INT(count_fds(), before);
	check_no_children();
	cleanup();
}

/* ---- STREAMER_EXEC_ACTIONS ------------------------------------------------------------------------- */

static const char *taken(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "echo") == 0 ? "a built-in action" : NULL;
}

static void check_load_fails(char **specs, const char *expect)
{
	struct exec_actions *ea = (struct exec_actions *)1;
	char err[512] = "";

	CHECK_INT(exec_actions_load(&ea, specs, NULL, taken, NULL, err, sizeof err), -1);
	CHECK(ea == NULL);
	if (!strstr(err, expect) || strncmp(err, "STREAMER_EXEC_ACTIONS: ", 23) != 0) {
		printf("# got '%s', expected it to contain '%s'\n", err, expect);
		CHECK(0);
	}
}

static void test_actions_load(void)
{
	const char *s = script("act.sh", "cat");
	char spec1[160], spec2[160], nox[160], rel[] = "x=relative/cmd";
	struct exec_actions *ea;
	const struct streamer_handler *h;
	struct tctx t;
	struct streamer_error err;
	json_t *r, *p;
	char e[256];

	snprintf(spec1, sizeof spec1, "report.pdf=%s", s);
	snprintf(spec2, sizeof spec2, "x=/bin/true");
	{
		char *specs[] = { spec1, spec2, NULL };

		CHECK_INT(exec_actions_load(&ea, specs, NULL, taken, NULL, e, sizeof e), 0);
	}
	h = exec_actions_find(ea, "report.pdf");
	CHECK(h != NULL);
	CHECK(exec_actions_find(ea, "x") != NULL);
	CHECK_STR(h->name, "report.pdf");
	CHECK(h->flags & STREAMER_HANDLER_ASYNC);
	CHECK(h->validate == NULL);
	CHECK(h->permission == NULL);
	CHECK(exec_actions_find(ea, "report") == NULL);
	CHECK(exec_actions_find(NULL, "x") == NULL);
	/* the handler runs its command */
	tctx_init(&t, "report.pdf");
	t.ctx.handler = h;
	p = json_pack("{s:i}", "k", 7);
	CHECK_INT(h->run(&t.ctx, p, &r, &err), 0);
	check_json(r, "{\"k\":7}");
	json_decref(r);
	json_decref(p);
	exec_actions_free(ea);

	/* none */
	CHECK_INT(exec_actions_load(&ea, NULL, NULL, NULL, NULL, e, sizeof e), 0);
	CHECK(ea != NULL);
	CHECK(exec_actions_find(ea, "x") == NULL);
	exec_actions_free(ea);
	exec_actions_free(NULL);

	snprintf(nox, sizeof nox, "nox=%s", script("nox.sh", "true"));
	CHECK(chmod(nox + 4, 0644) == 0);
	{
		char a[] = "noequals", b[] = "=/bin/true", c[] = "bad name=/bin/true",
		     d[] = "x=/nonexistent/cmd", f[] = "x=/tmp", g[] = "echo=/bin/true",
		     h1[] = "dup=/bin/true", h2[] = "dup=/bin/false",
		     lname[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=/bin/true";
		char *s1[] = { a, NULL }, *s2[] = { b, NULL }, *s3[] = { c, NULL }, *s4[] = { rel, NULL },
		     *s5[] = { d, NULL }, *s6[] = { f, NULL }, *s7[] = { g, NULL },
		     *s8[] = { h1, h2, NULL }, *s9[] = { lname, NULL }, *s10[] = { spec2, nox, NULL };

		check_load_fails(s1, "'noequals': expected name=/absolute/path");
		check_load_fails(s2, "'=/bin/true': expected name=/absolute/path");
		check_load_fails(s3, "'bad name=/bin/true': the action name must match");
		check_load_fails(s4, "'x=relative/cmd': the command must be an absolute path");
		check_load_fails(s5, "/nonexistent/cmd is not an executable file: No such file or directory");
		check_load_fails(s6, "/tmp is not an executable file");
		check_load_fails(s7, "action 'echo' is already a built-in action");
		check_load_fails(s8, "action 'dup' is given twice");
		check_load_fails(s9, "the action name must match");
		check_load_fails(s10, "nox.sh is not an executable file"); /* even for root: no x bit */
	}
	cleanup();
}

/*
 * Secrets of the process that runs exec handlers stay out of their reach.
 * The test binary re-executes itself with secrets in its initial
 * environment (TEST_EXEC_SECRET_DIR set): secret_child, a constructor, then
 * loads the settings as the processor does and runs a handler that tries
 * /proc/$PPID/environ, mem, maps and cmdline and dumps its own environment.
 */
static const char *const secret_values[] = {
	"grip-SECRET-1", "aws-SECRET-2", "session-SECRET-3", "metrics-SECRET-4",
	"cbpass-SECRET-5", "AKIDSECRET6", "file-SECRET-7", "other-SECRET-8",
};

static const char spy_body[] =
	"d=${0%/*}/pass$STREAMER_ATTEMPT\n"
	"cat /proc/$PPID/environ >$d.environ 2>/dev/null; echo $? >$d.environ.rc\n"
	"cat /proc/$PPID/maps >$d.maps 2>/dev/null; echo $? >$d.maps.rc\n"
	"head -c 4096 /proc/$PPID/mem >/dev/null 2>&1; echo $? >$d.mem.rc\n"
	"cat /proc/$PPID/cmdline >$d.cmdline 2>/dev/null\n"
	"env >$d.env\n"
	"echo '\"spied\"'\n";

/* In the re-executed child: load the settings, run the spy twice (attempts 1 and 2), _exit. */
__attribute__((constructor)) static void secret_child(void)
{
	const char *d = getenv("TEST_EXEC_SECRET_DIR");
	char spy[256], out[300], err_text[512];
	struct config cfg;
	struct tctx t;
	struct streamer_error err;
	json_t *r = NULL;
	size_t len = 0;
	char *self;
	int rc;

	if (!d)
		return;
	snprintf(spy, sizeof spy, "%s/spy.sh", d);
	if (config_load(&cfg, 0, err_text, sizeof err_text) < 0) {
		printf("# config_load: %s\n", err_text);
		_exit(3);
	}
	/* This process itself no longer shows them in its own /proc environ. */
	snprintf(out, sizeof out, "%s/dumpable", d);
	{
		FILE *f = fopen(out, "w");

		if (!f || fprintf(f, "%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)) < 0 || fclose(f) != 0)
			_exit(4);
	}
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); /* a non-dumpable process's /proc files are root's */
	self = file_read("/proc/self/environ", 1 << 20, &len);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	snprintf(out, sizeof out, "%s/self.environ", d);
	{
		FILE *f = fopen(out, "w");

		if (!self || !f || fwrite(self, 1, len, f) != len || fclose(f) != 0)
			_exit(4);
	}
	free(self);
	for (int pass = 0; pass < 2; pass++) {
		/* Attempt 2: made dumpable again, the wiped environment alone must hold. */
		if (pass == 1)
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		tctx_init(&t, "spy");
		t.ctx.attempt = pass + 1; /* the spy writes pass<attempt>.* beside itself */
		memset(&err, 0, sizeof err);
		rc = exec_run(spy, NULL, &t.ctx, NULL, &r, &err);
		if (rc != 0) {
			printf("# spy: %s\n", err.message);
			_exit(5);
		}
		json_decref(r);
	}
	config_free(&cfg);
	_exit(0);
}

/*
 * Fails when any of the first n secret values occurs in file name of dir_
 * (which must exist): the 7 settings, or all 8 with an unrelated variable
 * that only the handler's own environment must not have. Returns its size.
 */
static size_t check_file_clean(const char *dir_, const char *name, size_t n)
{
	char path[300];
	size_t len = 0;
	char *text;

	snprintf(path, sizeof path, "%s/%s", dir_, name);
	text = file_read(path, 1 << 20, &len);
	if (!text)
		printf("# cannot read %s\n", path);
	CHECK(text != NULL);
	for (size_t i = 0; i < n && i < ARRAY_SIZE(secret_values); i++)
		if (memmem(text, len, secret_values[i], strlen(secret_values[i]))) {
			printf("# %s holds %s\n", name, secret_values[i]);
			CHECK(0);
		}
	free(text);
	return len;
}

static int file_int(const char *dir_, const char *name)
{
	char path[300];
	size_t len = 0;
	char *text;
	int v;

	snprintf(path, sizeof path, "%s/%s", dir_, name);
	text = file_read(path, 4096, &len);
	if (!text)
		printf("# cannot read %s\n", path);
	CHECK(text != NULL);
	v = atoi(text);
	free(text);
	return v;
}

static int file_has(const char *dir_, const char *name, const char *needle)
{
	char path[300];
	size_t len = 0;
	char *text;
	int has;

	snprintf(path, sizeof path, "%s/%s", dir_, name);
	text = file_read(path, 1 << 20, &len);
	CHECK(text != NULL);
	has = memmem(text, len, needle, strlen(needle)) != NULL;
	free(text);
	return has;
}

static void test_secrets_stay_private(void)
{
	char conf[200], dirvar[200], confvar[220], pathvar[4200];
	const char *p = getenv("PATH");
	pid_t pid;
	int status;
	FILE *f;

	script("spy.sh", spy_body);
	snprintf(conf, sizeof conf, "%s/streamer.env", dir);
	f = fopen(conf, "w");
	CHECK(f != NULL);
	fprintf(f, "STREAMER_JWT_ISSUER=file-SECRET-7\n");
	CHECK(fclose(f) == 0);
	snprintf(dirvar, sizeof dirvar, "TEST_EXEC_SECRET_DIR=%s", dir);
	snprintf(confvar, sizeof confvar, "STREAMER_CONFIG=%s", conf);
	snprintf(pathvar, sizeof pathvar, "PATH=%s", p ? p : "/usr/bin:/bin");
	{
		char *const argv[] = { (char *)"test_exec_handler", NULL };
		char *const envp[] = {
			dirvar, confvar, pathvar,
			(char *)"STREAMER_DB=/tmp/streamer-test-unused.db",
			(char *)"STREAMER_GRIP_KEY=grip-SECRET-1",
			(char *)"STREAMER_AWS_REGION=eu-west-1",
			(char *)"STREAMER_AWS_ACCESS_KEY_ID=AKIDSECRET6",
			(char *)"STREAMER_AWS_SECRET_ACCESS_KEY=aws-SECRET-2",
			(char *)"STREAMER_AWS_SESSION_TOKEN=session-SECRET-3",
			(char *)"STREAMER_METRICS_TOKEN=metrics-SECRET-4",
			(char *)"STREAMER_CALLBACK_URL=http://user:cbpass-SECRET-5@127.0.0.1:9/publish/",
			(char *)"UNRELATED_TOKEN=other-SECRET-8",
			NULL,
		};

		fflush(stdout);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			execve("/proc/self/exe", argv, envp);
			_exit(127);
		}
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);

	/* The process's own environment block was wiped (self may still read it). */
	check_file_clean(dir, "self.environ", 7);
	CHECK(file_has(dir, "self.environ", "TEST_EXEC_SECRET_DIR="));
	CHECK_INT(file_int(dir, "dumpable"), 0);
	/*
	 * Non-dumpable: a handler of the same (non-root) user can read neither
	 * its environ, its maps nor its memory. Root keeps reading them on some
	 * kernels; what it reads must still hold no secret.
	 */
	if (geteuid() != 0) {
		CHECK(file_int(dir, "pass1.environ.rc") != 0);
		CHECK(file_int(dir, "pass1.maps.rc") != 0);
		CHECK(file_int(dir, "pass1.mem.rc") != 0);
	} else {
		printf("# as root: not checking that /proc/PPID/{environ,maps,mem} are unreadable\n");
	}
	check_file_clean(dir, "pass1.environ", 7);
	check_file_clean(dir, "pass1.cmdline", 8);
	/* Its own environment: the minimum to run plus the request's, nothing else. */
	check_file_clean(dir, "pass1.env", 8);
	CHECK(file_has(dir, "pass1.env", "STREAMER_ACTION=spy"));
	CHECK(file_has(dir, "pass1.env", "PATH="));
	CHECK(!file_has(dir, "pass1.env", "STREAMER_DB="));
	CHECK(!file_has(dir, "pass1.env", "STREAMER_CONFIG="));
	CHECK(!file_has(dir, "pass1.env", "TEST_EXEC_SECRET_DIR="));
	/* Dumpable again: the environ is readable, and still holds no secret. */
	CHECK_INT(file_int(dir, "pass2.environ.rc"), 0);
	CHECK(check_file_clean(dir, "pass2.environ", 7) > 0);
	CHECK(file_has(dir, "pass2.environ", "TEST_EXEC_SECRET_DIR="));
	check_file_clean(dir, "pass2.env", 8);
	cleanup();
}

TAP_MAIN(
	TAP_TEST(test_success),
	TAP_TEST(test_line_endings),
	TAP_TEST(test_progress_lines),
	TAP_TEST(test_failure_exit),
	TAP_TEST(test_invalid_result),
	TAP_TEST(test_signals),
	TAP_TEST(test_cannot_run),
	TAP_TEST(test_timeout),
	TAP_TEST(test_timeout_term_ignored),
	TAP_TEST(test_cancel),
	TAP_TEST(test_leftovers_killed),
	TAP_TEST(test_large_output),
	TAP_TEST(test_unread_input),
	TAP_TEST(test_line_limit),
	TAP_TEST(test_no_leaks),
	TAP_TEST(test_actions_load),
	TAP_TEST(test_secrets_stay_private)
)
