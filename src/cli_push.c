/* cli_push.c - `streamer send`, `broadcast`, `close` and `gc`: server pushes through the callback URL from the command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opt.h"
#include "config.h"
#include "fanout.h"
#include "handlers_async.h"
#include "history.h"
#include "log.h"
#include "protocol.h"
#include "queue.h"
#include "serverops.h"
#include "store.h"
#include "streams.h"
#include "subs.h"
#include "util.h"

/* What every push command opens: settings, the store, the push client, the queue. */
struct pusher {
	struct config cfg;
	struct store *store;
	struct fanout *fanout;
	struct queue *queue;
	struct serverops ops;
};

static void pusher_close(struct pusher *p)
{
	queue_close(p->queue);
	fanout_close(p->fanout);
	store_close(p->store);
	config_free(&p->cfg);
	memset(p, 0, sizeof *p);
}

/* Returns 0, or 1 after printing "streamer CMD: reason". need_callback: fail early without STREAMER_CALLBACK_URL. */
static int pusher_open(struct pusher *p, const char *cmd, const char *db, int need_callback)
{
	char err[1024];

	memset(p, 0, sizeof *p);
	if (config_load(&p->cfg, 0, err, sizeof err) != 0) {
		fprintf(stderr, "streamer %s: %s\n", cmd, err);
		return 1;
	}
	/* Log lines (pushes, breaker) go where the workers' go, never onto our stdout. */
	if (log_init(p->cfg.log_level, p->cfg.log_file) < 0)
		log_init(p->cfg.log_level, NULL);
	if (need_callback && !p->cfg.callback_url) {
		fprintf(stderr, "streamer %s: STREAMER_CALLBACK_URL is not set: nowhere to push to\n", cmd);
		pusher_close(p);
		return 1;
	}
	if (store_open(&p->store, db ? db : p->cfg.db_path,
		       &(struct store_options){ .busy_timeout_ms = p->cfg.busy_timeout_ms }, 0, err,
		       sizeof err) != 0 ||
	    fanout_open(&p->fanout, &p->cfg, p->store, err, sizeof err) != 0) {
		fprintf(stderr, "streamer %s: %s\n", cmd, err);
		pusher_close(p);
		return 1;
	}
	p->queue = queue_open(p->store);
	p->ops = (struct serverops){ &p->cfg, p->store, p->fanout, p->queue };
	return 0;
}

/*
 * Parses text as the JSON message to push; prints the reason and returns
 * NULL when it is not JSON, or with need_object not a JSON object (a
 * message pushed as given gets its stream position fields).
 */
static json_t *message_arg(const char *cmd, const char *text, int need_object)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	if (!v)
		fprintf(stderr, "streamer %s: the message is not JSON: %s (at character %d)\n", cmd,
			e.text, e.position);
	else if (need_object && !json_is_object(v)) {
		fprintf(stderr, "streamer %s: the message must be a JSON object (it gets the fields "
				"stream, offset and epoch)\n", cmd);
		json_decref(v);
		v = NULL;
	}
	return v;
}

static int need_one_message(const char *cmd, int argc)
{
	if (optind == argc - 1)
		return 0;
	return cli_usage_error(cmd, "expected exactly one JSON message argument");
}

static int report(const char *cmd, int rc, const struct fanout_result *res, const char *what,
		  const char *why)
{
	if (rc < 0) {
		struct buf b = { 0 };

		str_redact_credentials(&b, why); /* it may quote the callback URL */
		fprintf(stderr, "streamer %s: %s\n", cmd, b.data);
		buf_free(&b);
		return 1;
	}
	printf("%s (%zu item%s", what, res->items, res->items == 1 ? "" : "s");
	if (res->stale)
		printf(", %zu stale connection%s removed", res->stale, res->stale == 1 ? "" : "s");
	printf(")\n");
	return fflush(stdout) == 0 ? 0 : 1;
}

static const char SEND_USAGE[] =
	"Usage: streamer send --connection ID [--db PATH] JSON\n"
	"       streamer send --user USER --tenant TENANT [--db PATH] JSON\n"
	"Pushes JSON, as given, to one connection or to every live connection of a user\n"
	"within a tenant, through STREAMER_CALLBACK_URL. Exits 1 with a one-line reason\n"
	"when the target has no live connection or the push fails.\n";

int cli_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection", required_argument, NULL, 'c' }, { "user", required_argument, NULL, 'u' },
		{ "tenant", required_argument, NULL, 't' },     { "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },             { NULL, 0, NULL, 0 },
	};
	const char *conn = NULL, *user = NULL, *tenant = NULL, *db = NULL;
	struct fanout_result res = { 0 };
	struct pusher p;
	char why[512] = "", what[400];
	json_t *msg;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:u:t:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conn = optarg; break;
		case 'u': user = optarg; break;
		case 't': tenant = optarg; break;
		case 'd': db = optarg; break;
		case 'h': fputs(SEND_USAGE, stdout); return 0;
		default: return cli_bad_option("send", c, argv);
		}
	}
	if (!conn == !(user && tenant) || (conn && (user || tenant))) {
		fprintf(stderr, "streamer send: give either --connection ID or --user USER --tenant TENANT\n%s",
			SEND_USAGE);
		return 2;
	}
	if ((rc = need_one_message("send", argc)) != 0)
		return rc;
	if (!(msg = message_arg("send", argv[optind], 1)))
		return 1;
	if (pusher_open(&p, "send", db, 1) != 0) {
		json_decref(msg);
		return 1;
	}
	if (conn) {
		rc = ops_send_connection(&p.ops, conn, msg, &res, why, sizeof why);
		snprintf(what, sizeof what, "sent to connection %s", conn);
	} else {
		rc = ops_send_user(&p.ops, tenant, user, msg, &res, why, sizeof why);
		snprintf(what, sizeof what, "sent to %zu connection%s of user %s in tenant %s",
			 res.items - res.stale, res.items - res.stale == 1 ? "" : "s", user, tenant);
	}
	rc = rc == OPS_OK ? 0 : -1;
	json_decref(msg);
	rc = report("send", rc, &res, what, why);
	pusher_close(&p);
	return rc;
}

static const char BROADCAST_USAGE[] =
	"Usage: streamer broadcast --tenant TENANT [--topic TOPIC] [--db PATH] JSON\n"
	"Pushes JSON to every connection of a tenant, as given; with --topic, to the\n"
	"tenant's subscribers of TOPIC, wrapped as {\"type\":\"event\",\"topic\",\"data\",\"timestamp\"}\n"
	"like a client's publish.\n";

int cli_broadcast(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' }, { "topic", required_argument, NULL, 'x' },
		{ "db", required_argument, NULL, 'd' },     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tenant = NULL, *topic = NULL, *db = NULL;
	struct fanout_result res = { 0 };
	struct pusher p;
	char why[512] = "", what[400];
	json_t *msg;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:x:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tenant = optarg; break;
		case 'x': topic = optarg; break;
		case 'd': db = optarg; break;
		case 'h': fputs(BROADCAST_USAGE, stdout); return 0;
		default: return cli_bad_option("broadcast", c, argv);
		}
	}
	if (!tenant || !str_is_token(tenant, strlen(tenant), 128, "._@-")) {
		fprintf(stderr, "streamer broadcast: --tenant is required ([A-Za-z0-9._@-]{1,128})\n%s",
			BROADCAST_USAGE);
		return 2;
	}
	if (topic && !subs_topic_valid(topic)) {
		fprintf(stderr, "streamer broadcast: --topic must match [A-Za-z0-9._:-]{1,128}\n");
		return 2;
	}
	if ((rc = need_one_message("broadcast", argc)) != 0)
		return rc;
	if (!(msg = message_arg("broadcast", argv[optind], !topic)))
		return 1;
	if (topic)
		msg = proto_event(topic, msg, time_now_ms());
	if (pusher_open(&p, "broadcast", db, 1) != 0) {
		json_decref(msg);
		return 1;
	}
	rc = ops_broadcast(&p.ops, tenant, topic, msg, &res, why, sizeof why) == OPS_OK ? 0 : -1;
	json_decref(msg);
	if (topic)
		snprintf(what, sizeof what, "published to topic %s of tenant %s", topic, tenant);
	else
		snprintf(what, sizeof what, "broadcast to tenant %s", tenant);
	rc = report("broadcast", rc, &res, what, why);
	pusher_close(&p);
	return rc;
}

static const char CLOSE_USAGE[] =
	"Usage: streamer close ID [--code N] [--reason TEXT] [--db PATH]\n"
	"Closes connection ID at the proxy (WebSocket close code N, default 1000, and\n"
	"reason, default \"closed by the server\") and removes it from the store, with\n"
	"its subscriptions (presence watchers get its leave events) and pending\n"
	"requests. An ID the store does not know is refused (exit 1).\n";

int cli_close(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "code", required_argument, NULL, 'c' }, { "reason", required_argument, NULL, 'r' },
		{ "db", required_argument, NULL, 'd' },   { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = "closed by the server", *db = NULL, *id;
	struct pusher p;
	char why[512] = "", *end;
	long code = 1000;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:r:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			code = strtol(optarg, &end, 10);
			if (*end || !ops_close_code_valid(code)) {
				fprintf(stderr, "streamer close: --code must be a WebSocket close code "
					"a client may receive (1000-1003, 1007-1014, 3000-4999), not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'r': reason = optarg; break;
		case 'd': db = optarg; break;
		case 'h': fputs(CLOSE_USAGE, stdout); return 0;
		default: return cli_bad_option("close", c, argv);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "streamer close: expected one connection id\n%s", CLOSE_USAGE);
		return 2;
	}
	if (strlen(reason) > 123) {
		fprintf(stderr, "streamer close: --reason is at most 123 bytes (a close frame's limit)\n");
		return 2;
	}
	id = argv[optind];
	if (pusher_open(&p, "close", db, 1) != 0)
		return 1;
	if (ops_close(&p.ops, id, (int)code, reason, why, sizeof why) != OPS_OK) {
		fprintf(stderr, "streamer close: %s\n", why);
		goto out;
	}
	printf("closed %s (code %ld)\n", id, code);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	pusher_close(&p);
	return rc;
}

static const char GC_USAGE[] =
	"Usage: streamer gc [--db PATH]\n"
	"Removes connections whose expiry has passed (closing each at the proxy with\n"
	"code 1001 when STREAMER_CALLBACK_URL is set), finished async requests past\n"
	"STREAMER_RESULT_TTL, report files in STREAMER_OUTPUT_DIR older than\n"
	"STREAMER_RESULT_TTL, the streams' messages older than STREAMER_HISTORY_TTL and\n"
	"the streams without a message for 24 hours or STREAMER_HISTORY_TTL if longer\n"
	"(written again, such a stream starts a new epoch). Safe to run from cron at any\n"
	"time.\n";

/*
 * A stream without a message for this long, or for STREAMER_HISTORY_TTL if
 * longer (so that no message within the ttl goes with it), loses its row:
 * its epoch and offset.
 */
#define GC_STREAM_IDLE_MS (24 * 3600 * 1000LL)

int cli_gc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	struct strvec ids = { 0 };
	struct pusher p;
	int c, rc = 1, requests = 0, reports = 0;
	int64_t messages = 0, streams = 0, history_ttl_ms;
	size_t closed = 0, removed = 0, failed = 0;
	int64_t now = time_now_ms();
	char why[512] = "", first[512] = "";

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'h': fputs(GC_USAGE, stdout); return 0;
		default: return cli_bad_option("gc", c, argv);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "streamer gc: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (pusher_open(&p, "gc", db, 0) != 0)
		return 1;
	history_ttl_ms = p.cfg.history_ttl * 1000;
	if (subs_expired_connections(fanout_subs(p.fanout), now, 100000, subs_collect, &ids) ==
			  STORE_ERROR) {
		fprintf(stderr, "streamer gc: %s\n", store_errmsg(p.store));
		goto out;
	}
	for (size_t i = 0; i < ids.n; i++) {
		if (fanout_configured(p.fanout)) {
			if (fanout_close_connection(p.fanout, ids.v[i], 1001, "expired", why,
						    sizeof why) == 0)
				closed++;
			else if (!failed++)
				snprintf(first, sizeof first, "%s", why);
		}
		if (ops_forget(&p.ops, ids.v[i], now) == STORE_ERROR) {
			fprintf(stderr, "streamer gc: %s\n", store_errmsg(p.store));
			goto out;
		}
		removed++;
	}
	if (queue_gc(p.queue, now, &requests) == STORE_ERROR) {
		fprintf(stderr, "streamer gc: %s\n", store_errmsg(p.store));
		goto out;
	}
	if (history_gc(p.store, now, history_ttl_ms,
		       history_ttl_ms > GC_STREAM_IDLE_MS ? history_ttl_ms : GC_STREAM_IDLE_MS,
		       &messages, &streams) == STORE_ERROR) {
		fprintf(stderr, "streamer gc: %s\n", store_errmsg(p.store));
		goto out;
	}
	/* A temporary file is only stale once no run can still be writing it. */
	if (report_gc(p.cfg.output_dir, now - p.cfg.result_ttl * 1000,
			   now - (p.cfg.result_ttl > p.cfg.job_timeout ? p.cfg.result_ttl : p.cfg.job_timeout) * 1000,
			   &reports, why, sizeof why) < 0) {
		fprintf(stderr, "streamer gc: report files: %s\n", why);
		goto out;
	}
	printf("removed %zu expired connection%s (%zu closed at the proxy), %d expired request%s, "
	       "%d expired report file%s, %lld expired stream message%s, %lld idle stream%s\n",
	       removed, removed == 1 ? "" : "s", closed, requests, requests == 1 ? "" : "s",
	       reports, reports == 1 ? "" : "s", (long long)messages, messages == 1 ? "" : "s",
	       (long long)streams, streams == 1 ? "" : "s");
	if (failed)
		fprintf(stderr, "streamer gc: %zu close%s failed at the proxy: %s\n", failed,
			failed == 1 ? "" : "s", first);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	strvec_free(&ids);
	pusher_close(&p);
	return rc;
}
