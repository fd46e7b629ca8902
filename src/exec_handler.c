/* exec_handler.c - exec handlers (STREAMER_EXEC_ACTIONS): one command per request, payload on stdin, progress and result on stdout. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_handler.h"
#include "proc.h"
#include "protocol.h"
#include "util.h"

extern char **environ;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* How often the loop looks at ctx->is_cancelled when nothing else happens. */
#define CANCEL_CHECK_MS 200
/* Without a pidfd: how often to look for the program's exit once its output is closed. */
#define EXIT_CHECK_MS 20
/* After the program exited: how long its leftover output may still take to drain. */
#define DRAIN_MS 1000
#define READ_CHUNK 65536

/* ---- small helpers ---------------------------------------------------------- */

/*
 * Appends s[0..n) to out as valid UTF-8: invalid bytes become '?', control
 * characters other than newline and tab become spaces.
 */
static void utf8_clean(struct buf *out, const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp;
		int ok = len > 0 && i + len <= n;

		if (ok && len > 1) {
			cp = c & (0xff >> (len + 1));
			for (size_t k = 1; k < len; k++) {
				if ((s[i + k] & 0xc0) != 0x80) {
					ok = 0;
					break;
				}
				cp = cp << 6 | (s[i + k] & 0x3f);
			}
			/* no overlong forms, no surrogates, nothing past U+10FFFF */
			if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
				   (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
				   (cp >= 0xd800 && cp <= 0xdfff)))
				ok = 0;
		}
		if (!ok) {
			buf_putc(out, '?');
			i++;
		} else if (len == 1 && (c < 0x20 || c == 0x7f) && c != '\n' && c != '\t') {
			buf_putc(out, ' ');
			i++;
		} else {
			buf_append(out, s + i, len);
			i += len;
		}
	}
}

/* The kept end of stderr, cleaned and trimmed, into out (NUL-terminated, may be ""). */
static void stderr_tail_text(const struct buf *tail, size_t keep, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)tail->data;
	size_t n = tail->len, start = n > keep ? n - keep : 0;

	/* do not start inside a UTF-8 sequence */
	while (start < n && start > 0 && (s[start] & 0xc0) == 0x80)
		start++;
	buf_reset(out);
	if (n > start)
		utf8_clean(out, s + start, n - start);
	while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == ' ' ||
			    out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
	if (!out->data)
		buf_puts(out, "");
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Whether the caller's variable e ("NAME=value") passes to the command: only
 * what a program needs to run (search path, home, locale, time zone,
 * temporary directory). Nothing else of the processor's environment (no
 * STREAMER_* setting, no credential some other tool left there) reaches it.
 */
static int env_passes(const char *e)
{
	static const char *const names[] = { "PATH=", "HOME=", "LANG=", "LANGUAGE=", "TZ=",
					      "TMPDIR=" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return 1;
	return strncmp(e, "LC_", 3) == 0 && strchr(e, '=') != NULL;
}

/* The environment of the command: env_passes of the caller's, plus the request's. Caller frees. */
static char **make_env(const struct streamer_ctx *ctx)
{
	size_t n = 0, k = 0;
	char **env;
	struct buf b = { 0 };
	int have_path = 0;

	for (char **e = environ; e && *e; e++)
		n++;
	env = xcalloc(n + 10, sizeof *env);
	for (char **e = environ; e && *e; e++) {
		if (!env_passes(*e))
			continue;
		have_path |= strncmp(*e, "PATH=", 5) == 0;
		env[k++] = xstrdup(*e);
	}
	if (!have_path)
		env[k++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
#define ADD(name, value) do { \
		buf_reset(&b); \
		buf_printf(&b, "%s=%s", name, value); \
		env[k++] = buf_detach(&b); \
	} while (0)
	ADD("STREAMER_ACTION", ctx->action ? ctx->action : "");
	ADD("STREAMER_REQUEST_ID", ctx->request_id ? ctx->request_id : "");
	ADD("STREAMER_JOB_ID", ctx->job_id ? ctx->job_id : "");
	ADD("STREAMER_USER_ID", ctx->user_id ? ctx->user_id : "");
	ADD("STREAMER_TENANT_ID", ctx->tenant_id ? ctx->tenant_id : "");
	buf_reset(&b);
	buf_printf(&b, "STREAMER_ATTEMPT=%d", ctx->attempt);
	env[k++] = buf_detach(&b);
	buf_printf(&b, "STREAMER_DEADLINE_MS=%" PRId64, ctx->deadline_ms);
	env[k++] = buf_detach(&b);
	if (ctx->output_dir)
		ADD("STREAMER_OUTPUT_DIR", ctx->output_dir);
#undef ADD
	env[k] = NULL;
	buf_free(&b);
	return env;
}

static void free_env(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* In the child, between fork and exec: only async-signal-safe calls. Never returns. */
static void child_exec(const char *path, char **env, int in, int out, int errfd, int status,
		       pid_t parent)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD,
				    SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ };
	char *argv[2] = { (char *)path, NULL };
	struct sigaction dfl;
	sigset_t none;
	int e;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the parent died before prctl */
	setpgid(0, 0);
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		goto fail;
	/* Nothing else of the host reaches the program (the status pipe closes at exec). */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		long max = sysconf(_SC_OPEN_MAX);

		if (max < 0 || max > 65536)
			max = 65536;
		for (int fd = 3; fd < max; fd++)
			if (fd != status)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	execve(path, argv, env);
fail:
	e = errno;
	if (write(status, &e, sizeof e) < 0) {
		/* the parent reports a generic failure */
	}
	_exit(127);
}

/* ---- one run ------------------------------------------------------------------ */

struct run {
	const struct exec_options *opt;
	struct streamer_ctx *ctx;
	pid_t pid;
	int pidfd;
	int in, out, err;      /* our ends; -1 once closed */
	char *input;           /* the payload line */
	size_t input_len, input_off;
	struct buf line;       /* the stdout line being read */
	struct buf last;       /* the last complete non-PROGRESS line */
	struct buf tail;       /* the end of stderr */
	int exited;            /* the program has exited (not yet reaped) */
	int status;            /* its wait status, once reaped */
	int reaped;
	const char *stop_code; /* why we stop it: STREAMER_E_* */
	const char *stop_msg;
	char stop_text[128];
};

/* 1 once the program has exited (without reaping it). */
static int has_exited(struct run *r)
{
	siginfo_t si;
	int rc;

	if (r->exited)
		return 1;
	memset(&si, 0, sizeof si);
	rc = waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT);
	if (rc == 0 && si.si_pid == r->pid)
		r->exited = 1;
	else if (rc < 0 && errno == ECHILD)
		r->exited = 1; /* someone else reaped it: nothing to wait for */
	return r->exited;
}

static void reap(struct run *r)
{
	while (!r->reaped) {
		pid_t w = waitpid(r->pid, &r->status, 0);

		if (w == r->pid || (w < 0 && errno != EINTR)) {
			if (w < 0)
				r->status = -1;
			r->reaped = 1;
		}
	}
}

/* Stops the whole process group: SIGTERM, SIGKILL after the grace time; then reaps the program. */
static void stop_group(struct run *r)
{
	r->status = proc_stop_group(r->pid, r->pidfd, r->opt->kill_grace_ms);
	r->reaped = 1;
}

static void stop(struct run *r, const char *code, const char *msg)
{
	if (!r->stop_code) {
		r->stop_code = code;
		r->stop_msg = msg;
	}
}

/* Handles one complete stdout line (without its newline). */
static void on_line(struct run *r, char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		s[--n] = '\0';
	if (n >= 8 && memcmp(s, "PROGRESS", 8) == 0 && (n == 8 || s[8] == ' ' || s[8] == '\t')) {
		char *p = s + 8, *end;
		double pct;
		struct buf msg = { 0 };
		int go;

		while (*p == ' ' || *p == '\t')
			p++;
		pct = strtod(p, &end);
		if (end == p || !isfinite(pct) || (*end && *end != ' ' && *end != '\t'))
			return; /* malformed: ignored */
		while (*end == ' ' || *end == '\t')
			end++;
		utf8_clean(&msg, (const unsigned char *)end, strlen(end));
		go = r->ctx->progress(r->ctx, pct < 0 ? 0 : pct > 100 ? 100 : (int)pct,
				      msg.data ? msg.data : "", NULL);
		buf_free(&msg);
		if (!go)
			stop(r, STREAMER_E_CANCELLED, "Cancelled");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t') {
			struct buf t = r->last;

			/* keep the line: swap buffers instead of copying */
			r->last = r->line;
			r->line = t;
			r->last.len = n;
			r->last.data[n] = '\0';
			return;
		}
	}
}

/* Reads what stdout has; returns 0, or -1 at end of file. */
static int read_out(struct run *r)
{
	char chunk[READ_CHUNK];
	ssize_t got = read(r->out, chunk, sizeof chunk);
	const char *p = chunk, *end;

	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (got == 0) {
		if (r->line.len)
			on_line(r, r->line.data, r->line.len);
		buf_reset(&r->line);
		return -1;
	}
	end = chunk + got;
	while (p < end && !r->stop_code) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (r->line.len + n > r->opt->line_max) {
			snprintf(r->stop_text, sizeof r->stop_text,
				 "it wrote an output line longer than %zu bytes", r->opt->line_max);
			stop(r, STREAMER_E_FAILED, r->stop_text);
			break;
		}
		buf_append(&r->line, p, n);
		if (!nl)
			break;
		on_line(r, r->line.data ? r->line.data : (char *)"", r->line.len);
		buf_reset(&r->line);
		p = nl + 1;
	}
	return 0;
}

/* Reads what stderr has, keeping its end; returns 0, or -1 at end of file. */
static int read_err(struct run *r)
{
	char chunk[READ_CHUNK];
	ssize_t got = read(r->err, chunk, sizeof chunk);
	size_t keep = r->opt->stderr_tail + 4; /* a little more, to find a UTF-8 boundary */

	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (got == 0)
		return -1;
	buf_append(&r->tail, chunk, (size_t)got);
	if (r->tail.len > 2 * keep) {
		memmove(r->tail.data, r->tail.data + r->tail.len - keep, keep);
		r->tail.len = keep;
		r->tail.data[keep] = '\0';
	}
	return 0;
}

/* Writes what stdin can take; closes it when done or when the program stopped reading. */
static void write_in(struct run *r)
{
	while (r->input_off < r->input_len) {
		ssize_t w = send(r->in, r->input + r->input_off, r->input_len - r->input_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			break; /* EPIPE, ECONNRESET: it does not read its input; not an error */
		}
		r->input_off += (size_t)w;
	}
	shutdown(r->in, SHUT_WR);
	close_fd(&r->in);
}

/* Starts the program; returns 0, or -1 with err filled (nothing left running or open). */
static int start(struct run *r, const char *path, json_t *payload, struct streamer_error *err)
{
	int sv[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 }, ps[2] = { -1, -1 };
	char **env = NULL;
	pid_t parent = getpid();
	int e = 0, rc = -1;
	ssize_t got;

	r->input = json_dumps(payload ? payload : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	if (!r->input)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not serialise the payload");
	r->input_len = strlen(r->input);
	r->input = xrealloc(r->input, r->input_len + 2);
	r->input[r->input_len++] = '\n';
	r->input[r->input_len] = '\0';

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 || pipe2(ps, O_CLOEXEC) < 0) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not start the command: %s",
			      strerror(errno));
		goto out;
	}
	env = make_env(r->ctx);
	r->pid = fork();
	if (r->pid < 0) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not start the command: %s",
			      strerror(errno));
		goto out;
	}
	if (r->pid == 0)
		child_exec(path, env, sv[1], po[1], pe[1], ps[1], parent);
	setpgid(r->pid, r->pid); /* also here, so a kill right away reaches the group */
	close_fd(&sv[1]);
	close_fd(&po[1]);
	close_fd(&pe[1]);
	close_fd(&ps[1]);
	/* EOF means exec succeeded (the pipe is close-on-exec); an int is its errno. */
	do
		got = read(ps[0], &e, sizeof e);
	while (got < 0 && errno == EINTR);
	if (got > 0) {
		reap(r);
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not run the command: %s",
			      got == (ssize_t)sizeof e ? strerror(e) : "exec failed");
		goto out;
	}
#ifdef SYS_pidfd_open
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (r->pidfd >= 0)
		fcntl(r->pidfd, F_SETFD, FD_CLOEXEC);
#endif
	r->in = sv[0];
	r->out = po[0];
	r->err = pe[0];
	sv[0] = po[0] = pe[0] = -1;
	set_nonblock(r->out);
	set_nonblock(r->err);
	rc = 0;
out:
	free_env(env);
	close_fd(&sv[0]);
	close_fd(&sv[1]);
	close_fd(&po[0]);
	close_fd(&po[1]);
	close_fd(&pe[0]);
	close_fd(&pe[1]);
	close_fd(&ps[0]);
	close_fd(&ps[1]);
	return rc;
}

/* The poll loop: until the program is done (or must be stopped) and its output read. */
static void pump(struct run *r)
{
	int64_t drain_until = 0;

	for (;;) {
		struct pollfd p[4];
		int np = 0, ixin = -1, ixout = -1, ixerr = -1, ixpid = -1, timeout = CANCEL_CHECK_MS;
		int64_t now;

		if (r->stop_code)
			return;
		if (streamer_should_stop(r->ctx)) {
			if (r->ctx->deadline_ms > 0 && time_now_ms() >= r->ctx->deadline_ms &&
			    !r->ctx->is_cancelled(r->ctx))
				stop(r, STREAMER_E_TIMEOUT, "deadline");
			else
				stop(r, STREAMER_E_CANCELLED, "Cancelled");
			return;
		}
		if (r->out < 0 && r->err < 0) {
			if (r->exited || has_exited(r))
				return;
		} else if (has_exited(r)) {
			/* Output still open after exit: leftovers in its group hold it. */
			now = time_now_ms();
			if (!drain_until) {
				kill(-r->pid, SIGKILL);
				drain_until = now + DRAIN_MS;
			} else if (now >= drain_until) {
				return;
			}
		}
		now = time_now_ms();
		if (r->ctx->deadline_ms > 0 && r->ctx->deadline_ms - now < timeout)
			timeout = (int)(r->ctx->deadline_ms - now) + 1;
		if (r->in >= 0) {
			ixin = np;
			p[np++] = (struct pollfd){ .fd = r->in, .events = POLLOUT };
		}
		if (r->out >= 0) {
			ixout = np;
			p[np++] = (struct pollfd){ .fd = r->out, .events = POLLIN };
		}
		if (r->err >= 0) {
			ixerr = np;
			p[np++] = (struct pollfd){ .fd = r->err, .events = POLLIN };
		}
		if (r->pidfd >= 0 && !r->exited) {
			ixpid = np;
			p[np++] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
		} else if (r->out < 0 && r->err < 0 && timeout > EXIT_CHECK_MS) {
			timeout = EXIT_CHECK_MS;
		}
		if (drain_until && drain_until - now < timeout)
			timeout = (int)(drain_until - now) + 1;
		if (timeout < 0)
			timeout = 0;
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			stop(r, STREAMER_E_FAILED, "waiting for its output failed");
			return;
		}
		if (ixpid >= 0 && p[ixpid].revents)
			r->exited = 1;
		if (ixin >= 0 && p[ixin].revents)
			write_in(r);
		if (ixout >= 0 && p[ixout].revents && read_out(r) < 0)
			close_fd(&r->out);
		if (ixerr >= 0 && p[ixerr].revents && read_err(r) < 0)
			close_fd(&r->err);
	}
}

int exec_run(const char *path, const struct exec_options *opt, struct streamer_ctx *ctx,
	     json_t *payload, json_t **result, struct streamer_error *err)
{
	struct exec_options o = { EXEC_KILL_GRACE_MS, EXEC_LINE_MAX, EXEC_STDERR_TAIL };
	struct run r = { .opt = &o, .ctx = ctx, .pid = -1, .pidfd = -1, .in = -1, .out = -1,
			 .err = -1 };
	struct buf tail = { 0 };
	int rc = -1;

	if (opt && opt->kill_grace_ms > 0)
		o.kill_grace_ms = opt->kill_grace_ms;
	if (opt && opt->line_max > 0)
		o.line_max = opt->line_max;
	if (opt && opt->stderr_tail > 0)
		o.stderr_tail = opt->stderr_tail;
	if (o.stderr_tail > STREAMER_ERROR_MESSAGE_MAX - 128)
		o.stderr_tail = STREAMER_ERROR_MESSAGE_MAX - 128;

	if (streamer_should_stop(ctx)) {
		/* too late already: do not even start it */
		r.stop_code = ctx->is_cancelled(ctx) ? STREAMER_E_CANCELLED : STREAMER_E_TIMEOUT;
		streamer_fail(err, r.stop_code, NULL, "%s", ctx->is_cancelled(ctx) ? "Cancelled"
			      : "The command did not finish before its deadline and was stopped");
		goto out;
	}
	if (start(&r, path, payload, err) < 0)
		goto out;
	pump(&r);
	close_fd(&r.in);
	if (r.stop_code)
		stop_group(&r);
	else {
		kill(-r.pid, SIGKILL); /* anything it left behind in its group */
		reap(&r);
	}
	stderr_tail_text(&r.tail, o.stderr_tail, &tail);

	if (r.stop_code && strcmp(r.stop_code, STREAMER_E_TIMEOUT) == 0) {
		streamer_fail(err, STREAMER_E_TIMEOUT, NULL,
			      "The command did not finish before its deadline and was stopped");
	} else if (r.stop_code && strcmp(r.stop_code, STREAMER_E_CANCELLED) == 0) {
		streamer_fail(err, STREAMER_E_CANCELLED, NULL, "Cancelled");
	} else if (r.stop_code) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "The command was stopped: %s", r.stop_msg);
	} else if (r.status == -1 || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
		char how[64];

		if (r.status != -1 && WIFSIGNALED(r.status))
			snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(r.status));
		else if (r.status != -1 && WIFEXITED(r.status))
			snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(r.status));
		else
			snprintf(how, sizeof how, "ended in an unknown way");
		streamer_fail(err, STREAMER_E_FAILED, NULL, "The command %s%s%s", how,
			      tail.len ? ": " : "", tail.data);
	} else if (r.last.len == 0) {
		*result = NULL; /* no result line: null */
		rc = 0;
	} else {
		json_error_t je;
		json_t *j = json_loadb(r.last.data, r.last.len, JSON_DECODE_ANY, &je);

		if (!j) {
			streamer_fail(err, STREAMER_E_FAILED, NULL,
				      "The command's result (its last output line) is not JSON: %s%s%s",
				      je.text, tail.len ? "; stderr: " : "", tail.data);
		} else {
			*result = j;
			rc = 0;
		}
	}
out:
	close_fd(&r.in);
	close_fd(&r.out);
	close_fd(&r.err);
	close_fd(&r.pidfd);
	free(r.input);
	buf_free(&r.line);
	buf_free(&r.last);
	buf_free(&r.tail);
	buf_free(&tail);
	return rc;
}

/* ---- the configured actions ---------------------------------------------------- */

struct exec_action {
	char *name;
	char *path;
	struct exec_options *opt;
};

struct exec_actions {
	struct exec_action *actions;
	struct streamer_handler *handlers; /* handlers[i].data = &actions[i] */
	size_t n;
	struct exec_options opt;
};

static int exec_action_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
			   struct streamer_error *err)
{
	const struct exec_action *a = ctx->handler->data;

	return exec_run(a->path, a->opt, ctx, payload, result, err);
}


int exec_actions_load(struct exec_actions **out, char *const *specs,
		      const struct exec_options *opt, exec_taken_fn taken, void *taken_arg,
		      char *err, size_t errlen)
{
	struct exec_actions *ea = xcalloc(1, sizeof *ea);
	size_t n = 0;

	*out = NULL;
	while (specs && specs[n])
		n++;
	if (opt)
		ea->opt = *opt;
	ea->actions = xcalloc(n ? n : 1, sizeof *ea->actions);
	ea->handlers = xcalloc(n ? n : 1, sizeof *ea->handlers);
	for (size_t i = 0; i < n; i++) {
		const char *spec = specs[i], *eq = strchr(spec, '=');
		struct exec_action *a = &ea->actions[i];
		const char *owner;
		struct stat st;

		if (!eq || eq == spec) {
			err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: '%s': expected name=/absolute/path", spec);
			goto fail;
		}
		if (!str_is_token(spec, (size_t)(eq - spec), PROTO_ACTION_MAX, "._-")) {
			err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: '%s': the action name must match [A-Za-z0-9._-]{1,64}",
			     spec);
			goto fail;
		}
		if (eq[1] != '/') {
			err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: '%s': the command must be an absolute path", spec);
			goto fail;
		}
		errno = 0;
		if (stat(eq + 1, &st) < 0 || !S_ISREG(st.st_mode) || access(eq + 1, X_OK) < 0) {
			err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: '%s': %s is not an executable file%s%s",
			     spec, eq + 1, errno ? ": " : "", errno ? strerror(errno) : "");
			goto fail;
		}
		a->name = xstrndup(spec, (size_t)(eq - spec));
		for (size_t k = 0; k < i; k++) {
			if (strcmp(ea->actions[k].name, a->name) == 0) {
				err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: action '%s' is given twice", a->name);
				ea->n = i + 1;
				goto fail;
			}
		}
		if (taken && (owner = taken(taken_arg, a->name)) != NULL) {
			err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: action '%s' is already %s", a->name, owner);
			ea->n = i + 1;
			goto fail;
		}
		a->path = xstrdup(eq + 1);
		a->opt = &ea->opt;
		ea->handlers[i] = (struct streamer_handler){
			.name = a->name, .flags = STREAMER_HANDLER_ASYNC, .permission = NULL,
			.validate = NULL, .run = exec_action_run, .data = a,
		};
		ea->n = i + 1;
	}
	*out = ea;
	return 0;
fail:
	exec_actions_free(ea);
	return -1;
}

void exec_actions_free(struct exec_actions *ea)
{
	if (!ea)
		return;
	for (size_t i = 0; i < ea->n; i++) {
		free(ea->actions[i].name);
		free(ea->actions[i].path);
	}
	free(ea->actions);
	free(ea->handlers);
	free(ea);
}

const struct streamer_handler *exec_actions_find(const struct exec_actions *ea, const char *name)
{
	if (!ea || !name)
		return NULL;
	for (size_t i = 0; i < ea->n; i++)
		if (strcmp(ea->handlers[i].name, name) == 0)
			return &ea->handlers[i];
	return NULL;
}
