/* fcgi_main.c - streamer-fcgi: the FastCGI worker loop, or a one-shot CGI when started without a listener. */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api.h"
#include "app.h"
#include "config.h"
#include "http.h"
#include "log.h"

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Reads up to n bytes into p; returns the count, 0 at end of input. */
typedef size_t (*body_read_fn)(void *ctx, char *p, size_t n);

/*
 * Reads the request body: CONTENT_LENGTH bytes, or to end of input when the
 * length is absent. Past max the body is dropped and body_too_large set.
 */
static void read_body(struct request *req, size_t max, body_read_fn rd, void *ctx)
{
	char chunk[16384];
	size_t want = req->content_length >= 0 ? (size_t)req->content_length : SIZE_MAX;

	if (req->content_length > (long long)max) {
		req->body_too_large = 1;
		return;
	}
	while (req->body.len < want) {
		size_t ask = want - req->body.len < sizeof(chunk) ? want - req->body.len : sizeof(chunk);
		size_t got = rd(ctx, chunk, ask);
		if (got == 0)
			break;
		if (req->body.len + got > max) {
			req->body_too_large = 1;
			buf_free(&req->body);
			return;
		}
		buf_append(&req->body, chunk, got);
	}
}

/* Reports why app_init failed: on stderr (the web server's error log) and in the log, credentials masked. */
static void startup_failed(const char *err)
{
	char *text = utf8_repair_dup(err); /* it may quote a setting's bytes */
	struct buf b = {0};

	str_redact_credentials(&b, text);
	fprintf(stderr, "streamer-fcgi: %s\n", b.data);
	buf_free(&b);
	log_event(LOG_ERROR, "startup_failed", json_pack("{s:s}", "message", text));
	free(text);
}

/* ---- CGI ---------------------------------------------------------------- */

static const char *cgi_lookup(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static size_t cgi_read(void *ctx, char *p, size_t n)
{
	return fread(p, 1, n, (FILE *)ctx);
}

static int serve_cgi(void)
{
	struct app app;
	struct request req;
	struct response resp = {0};
	struct buf out = {0};
	char err[512];
	int rc = 0;

	if (app_init(&app, err, sizeof(err)) < 0) {
		/*
		 * Still answer the one request (a CGI that prints nothing is a 500
		 * with no reason), but the reason names files, settings and hosts:
		 * it goes to the web server's error log (stderr) and our log only.
		 */
		startup_failed(err);
		response_error(&resp, ERR_INTERNAL,
			       "The server is misconfigured; the reason is in its error log");
		rc = 1;
	} else {
		request_from_env(&req, cgi_lookup, NULL);
		read_body(&req, app.cfg.max_body_bytes, cgi_read, stdin);
		app_handle(&app, &req, &resp);
		request_free(&req);
		response_render(&resp, &out);
		(void)write_all(STDOUT_FILENO, out.data, out.len); /* the server is gone: nothing to tell */
		app_after_response(&app);
		app_free(&app);
	}
	if (rc) {
		response_render(&resp, &out);
		(void)write_all(STDOUT_FILENO, out.data, out.len);
	}
	buf_free(&out);
	response_free(&resp);
	return rc;
}

/* ---- FastCGI ------------------------------------------------------------ */

static const char *fcgi_lookup(void *ctx, const char *name)
{
	return FCGX_GetParam(name, (FCGX_ParamArray)ctx);
}

static size_t fcgi_read(void *ctx, char *p, size_t n)
{
	int got = FCGX_GetStr(p, n > 65536 ? 65536 : (int)n, (FCGX_Stream *)ctx);

	return got > 0 ? (size_t)got : 0;
}

static int serve_fcgi(int listen_fd)
{
	struct app app;
	FCGX_Request fr;
	struct buf out = {0};
	struct sigaction sa;
	sigset_t stop_signals;
	char err[512];
	unsigned long served = 0;

	if (app_init(&app, err, sizeof(err)) < 0) {
		startup_failed(err);
		return 1;
	}
	/* No SA_RESTART: a stop signal interrupts accept() so an idle worker exits at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);

	if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		fprintf(stderr, "streamer-fcgi: cannot initialise the FastCGI request\n");
		app_free(&app);
		return 1;
	}
	log_event(LOG_INFO, "worker_start", json_pack("{s:s}", "version", PACKAGE_VERSION));
	while (!stopping) {
		struct request req;
		struct response resp = {0};

		if (FCGX_Accept_r(&fr) < 0) {
			if (stopping)
				break;
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERROR, "worker_accept", "FCGX_Accept_r failed: %s", strerror(errno));
			break;
		}
		/*
		 * Hold stop signals while a request is in hand, so that no read or
		 * write of it is interrupted; one that arrived meanwhile is
		 * delivered on unblocking, and the loop then ends.
		 */
		sigprocmask(SIG_BLOCK, &stop_signals, NULL);
		request_from_env(&req, fcgi_lookup, fr.envp);
		read_body(&req, app.cfg.max_body_bytes, fcgi_read, fr.in);
		app_handle(&app, &req, &resp);
		buf_reset(&out);
		response_render(&resp, &out);
		FCGX_PutStr(out.data, (int)out.len, fr.out);
		/* libfcgi frees the environment here: req holds copies only. */
		FCGX_Finish_r(&fr);
		app_after_response(&app);
		request_free(&req);
		response_free(&resp);
		served++;
		sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
	}
	log_event(LOG_INFO, "worker_stop", json_pack("{s:I}", "requests", (json_int_t)served));
	FCGX_Free(&fr, 0);
	buf_free(&out);
	app_free(&app);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to,
		"Usage: streamer-fcgi [--listen ADDR] [--check-config]\n"
		"\n"
		"The streamer FastCGI worker. Under spawn-fcgi (or a web server's bin-path)\n"
		"it serves requests on the listening socket it inherits on stdin. Started\n"
		"without one it runs as a plain CGI: it serves the single request described\n"
		"by its environment and standard input, then exits.\n"
		"\n"
		"  -l, --listen ADDR   listen on ADDR itself (\"/path.sock\" or \"[host]:port\")\n"
		"      --check-config  validate the configuration, the key and the database, then exit\n"
		"      --api-routes    list the server API's routes (METHOD /api/v1/NAME), then exit\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"Configuration comes from the environment (or STREAMER_CONFIG=FILE):\n");
	config_usage(to);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'c' },
		{ "api-routes", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_addr = NULL;
	int c, check = 0;

#ifdef __GLIBC__
	/*
	 * SQLite allocates and frees a statement journal of ~160 KiB for each
	 * write statement inside a transaction. With glibc's default 128 KiB
	 * trim threshold every event then shrinks and regrows the heap with
	 * brk() and page faults (12 % of a worker's CPU per echo, measured with
	 * perf). Keep that memory instead: a worker's heap stays ~1 MiB anyway.
	 */
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
	while ((c = getopt_long(argc, argv, "l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'c':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("streamer-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		case 'R':
			api_print_routes(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "streamer-fcgi: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check) {
		struct app app;
		char err[512];
		if (app_init(&app, err, sizeof(err)) < 0) {
			fprintf(stderr, "streamer-fcgi: %s\n", err);
			return 1;
		}
		char *shown = store_url_redacted(app.cfg.db_path);

		printf("configuration ok: database %s at schema version %d\n", shown,
		       store_schema_version(app.store));
		free(shown);
		app_free(&app);
		return 0;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "streamer-fcgi: FCGX_Init failed\n");
		return 1;
	}
	if (listen_addr) {
		int fd = FCGX_OpenSocket(listen_addr, 128);
		if (fd < 0) {
			fprintf(stderr, "streamer-fcgi: cannot listen on %s: %s\n", listen_addr,
				strerror(errno));
			return 1;
		}
		return serve_fcgi(fd);
	}
	if (FCGX_IsCGI())
		return serve_cgi();
	return serve_fcgi(0);
}
