/* config_vars.c - the table of STREAMER_* variables (name, default, bounds, kind, help) and its --help rendering. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util.h"

#ifndef STREAMER_LOCALSTATEDIR
#define STREAMER_LOCALSTATEDIR "/var"
#endif

/* Table shorthands: a variable of kind k, default d, help h, then its other fields. */
#define VAR(n, k, d, h, ...) { .name = (n), .kind = (k), .def = (d), .help = (h), __VA_ARGS__ }
#define INT(n, d, h, ...) VAR(n, CONFIG_INT, d, h, __VA_ARGS__)

const struct config_var config_vars[] = {
	VAR("STREAMER_CONFIG", CONFIG_TEXT, "", "optional KEY=VALUE file read at start; the environment wins",
	    .flags = CONFIG_SECRET),
	VAR("STREAMER_DB", CONFIG_TEXT, STREAMER_LOCALSTATEDIR "/lib/streamer/streamer.db",
	    "the store: a SQLite database file (WAL mode) as a path or sqlite:PATH, shared by all workers"),
	VAR("STREAMER_DB_GROUP", CONFIG_TEXT, "",
	    "group (name or number) that may read the database: `streamer init-db` creates it 0640 with this group; empty = 0600"),
	VAR("STREAMER_HOST_DIR", CONFIG_TEXT, "",
	    "directory of this host's shared files (metrics, rate limiter, activity table); empty = beside a "
	    "SQLite file, or /var/tmp/streamer-<hash>.* for a postgresql:// database"),
	INT("STREAMER_DB_BUSY_TIMEOUT", "5000", "milliseconds to wait for a database lock", .min = 0, .max = 600000),
	VAR("STREAMER_JWT_ALG", CONFIG_CHOICE, "RS256",
	    "pinned JWT algorithm: RS256 RS384 RS512 ES256 ES384 HS256 HS384 HS512"),
	VAR("STREAMER_JWT_KEY_FILE", CONFIG_TEXT, "",
	    "PEM public key (RS/ES) or shared secret file (HS); required by the worker"),
	VAR("STREAMER_JWT_ISSUER", CONFIG_TEXT, "", "required iss claim; empty = not checked"),
	VAR("STREAMER_JWT_AUDIENCE", CONFIG_TEXT, "", "required aud claim; empty = not checked"),
	INT("STREAMER_JWT_LEEWAY", "60", "clock skew allowed for exp/nbf/iat, seconds", .min = 0, .max = 3600),
	VAR("STREAMER_ALLOWED_TENANTS", CONFIG_LIST, "", "comma-separated tenant ids allowed to connect; empty = all"),
	VAR("STREAMER_GRIP_KEY", CONFIG_TEXT, "",
	    "Pushpin sig_key; when set every websocket-events request needs a valid Grip-Sig",
	    .flags = CONFIG_SECRET),
	INT("STREAMER_CONNECTION_TTL", "86400", "seconds a connection lives without activity",
	    .min = 60, .max = 31536000),
	VAR("STREAMER_TOUCH_INTERVAL", CONFIG_TEXT, "",
	    "seconds between two writes of a connection's expiry and message counts (0 = every message, "
	    "up to the TTL); empty = TTL/20, at most 60"),
	/* Pushpin refuses response bodies over 1,000,000 bytes. */
	INT("STREAMER_MAX_MESSAGE_BYTES", "131072", "largest client message, bytes", .min = 64, .max = 1000000),
	/* At least the largest message + 64, checked by config_load: min is the lowest that can be. */
	INT("STREAMER_MAX_BODY_BYTES", "4194304", "largest request body, bytes",
	    .min = 64 + 64, .max = 1LL << 30, .bounds = "(>= message size + 64)"),
	INT("STREAMER_KEEPALIVE_INTERVAL", "60", "seconds between Pushpin keep-alives",
	    .min = 20, .max = 3600, .zero = "off"),
	VAR("STREAMER_LOG_LEVEL", CONFIG_CHOICE, "info", "debug, info, warn or error"),
	VAR("STREAMER_LOG_FILE", CONFIG_TEXT, "", "append JSON log lines here; empty = stderr"),
	VAR("STREAMER_PLUGINS", CONFIG_LIST, "", "comma-separated absolute paths of handler plugins (.so) to load"),
	VAR("STREAMER_EXEC_ACTIONS", CONFIG_LIST, "",
	    "comma-separated name=/absolute/command async actions run per request"),
	VAR("STREAMER_OUTPUT_DIR", CONFIG_TEXT, STREAMER_LOCALSTATEDIR "/lib/streamer/reports",
	    "absolute directory async actions write files (reports) into"),
	INT("STREAMER_JOB_LEASE", "60", "seconds a processor holds a request without renewing its lease",
	    .min = 1, .max = 3600, .flags = CONFIG_PROCESSOR),
	INT("STREAMER_JOB_MAX_ATTEMPTS", "3", "runs of one async request at most, counting retries after crashes",
	    .min = 1, .max = 100, .flags = CONFIG_PROCESSOR),
	INT("STREAMER_JOB_TIMEOUT", "900", "seconds an async request may run before it fails with TIMEOUT",
	    .min = 1, .max = 86400, .flags = CONFIG_PROCESSOR),
	INT("STREAMER_RESULT_TTL", "604800",
	    "seconds a finished async request and its result are kept, and report files",
	    .min = 60, .max = 31536000, .flags = CONFIG_PROCESSOR),
	VAR("STREAMER_REPORT_PERMISSION", CONFIG_TEXT, "reports",
	    "permission generate_report requires; empty = any authenticated client"),
	/* The max is a sanity cap (1 PiB), not a setting anyone tunes: not shown. */
	INT("STREAMER_REPORT_QUOTA_BYTES", "1073741824",
	    "report bytes one tenant may have stored in STREAMER_OUTPUT_DIR before generate_report answers RATE_LIMITED",
	    .min = 1, .max = 1LL << 50, .zero = "no cap", .bounds = "(0 = no cap)"),
	VAR("STREAMER_CALLBACK_URL", CONFIG_TEXT, "",
	    "where pushes go: Pushpin's publish endpoint (http://127.0.0.1:5561/publish/), with several Pushpin nodes every node's, comma-separated (each push goes to all), or an API Gateway stage URL; empty = no pushes",
	    .flags = CONFIG_SECRET), /* may hold user:password@ */
	VAR("STREAMER_CALLBACK_STYLE", CONFIG_CHOICE, "pushpin",
	    "pushpin (publish API) or apigw (POST/DELETE @connections/{id})"),
	INT("STREAMER_CALLBACK_CONNECT_TIMEOUT", "1000", "milliseconds to connect to the callback URL",
	    .min = 10, .max = 60000),
	INT("STREAMER_CALLBACK_TIMEOUT", "5000", "milliseconds one push may take in all, retries and backoff included",
	    .min = 100, .max = 60000),
	INT("STREAMER_CALLBACK_BREAKER_RESET", "30", "seconds an open circuit breaker waits before one trial push",
	    .min = 1, .max = 3600),
	INT("STREAMER_HISTORY_SIZE", "1000", "messages kept per stream for recovery",
	    .min = 1, .max = 100000),
	INT("STREAMER_HISTORY_TTL", "300", "seconds a stream's messages are kept for recovery",
	    .min = 1, .max = 604800),
	VAR("STREAMER_AWS_REGION", CONFIG_TEXT, "",
	    "apigw style: region for SigV4 signing; empty = requests are not signed"),
	VAR("STREAMER_AWS_ACCESS_KEY_ID", CONFIG_TEXT, "",
	    "apigw style: access key for SigV4 (required with STREAMER_AWS_REGION)", .flags = CONFIG_SECRET),
	VAR("STREAMER_AWS_SECRET_ACCESS_KEY", CONFIG_TEXT, "",
	    "apigw style: secret key for SigV4 (required with STREAMER_AWS_REGION)", .flags = CONFIG_SECRET),
	VAR("STREAMER_AWS_SESSION_TOKEN", CONFIG_TEXT, "",
	    "apigw style: session token of temporary credentials, if any", .flags = CONFIG_SECRET),
	VAR("STREAMER_METRICS_FILE", CONFIG_TEXT, "",
	    "shared metrics file of every process on the host; empty = <STREAMER_DB>.metrics, off = no metrics"),
	VAR("STREAMER_METRICS_TOKEN", CONFIG_TEXT, "",
	    "when set, GET /metrics needs Authorization: Bearer <this>; when empty, loopback peers only",
	    .flags = CONFIG_SECRET),
	VAR("STREAMER_API_KEY", CONFIG_LIST, "",
	    "comma-separated keys of the server API (/api/v1/, Authorization: Bearer <key>; several for rotation, "
	    "16-256 characters each); empty = only a JWT with STREAMER_API_PERMISSION opens it",
	    .flags = CONFIG_SECRET),
	VAR("STREAMER_API_PERMISSION", CONFIG_TEXT, "admin",
	    "permission a JWT needs to call the server API (/api/v1/)"),
	INT("STREAMER_API_MAX_BODY", "1048576", "largest server API request body, bytes",
	    .min = 1024, .max = 1LL << 30),
	VAR("STREAMER_TOPIC_POLICY", CONFIG_CHOICE, "open",
	    "open (any topic of the tenant) or claims (subscribe and presence only to topics the token's topics "
	    "claim allows, publish only to its publish_topics)"),
	VAR("STREAMER_PRESENCE_PERMISSION", CONFIG_TEXT, "",
	    "permission presence, presence.count and subscribe with presence require; empty = any connection"),
	INT("STREAMER_RATE_LIMIT", "50", "messages per second one connection may send, refilled continuously",
	    .min = 1, .max = 1000000, .zero = "off"),
	INT("STREAMER_RATE_BURST", "100", "messages one connection may send at once before the rate applies",
	    .min = 1, .max = 1000000),
	VAR("STREAMER_RATELIMIT_FILE", CONFIG_TEXT, "",
	    "shared table of the message rate limiter of every worker on the host; empty = <STREAMER_DB>.ratelimit, off = no message rate limit"),
	INT("STREAMER_MAX_REQUESTS_PER_CONNECTION", "16", "live (pending or running) async requests per connection",
	    .min = 1, .max = 1000000, .zero = "no limit"),
	INT("STREAMER_MAX_PENDING_PER_TENANT", "1000", "pending async requests per tenant",
	    .min = 1, .max = 100000000, .zero = "no limit"),
	INT("STREAMER_MAX_CONNECTIONS_PER_USER", "100", "live connections per user of a tenant",
	    .min = 1, .max = 1000000, .zero = "no limit"),
	{ .name = NULL },
};

const size_t config_var_count = ARRAY_SIZE(config_vars) - 1;

const struct config_var *config_var_find(const char *name)
{
	for (const struct config_var *v = config_vars; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

const char *config_var_bounds(const struct config_var *v, char *buf, size_t len)
{
	if (v->kind != CONFIG_INT)
		snprintf(buf, len, "%s", "");
	else if (v->bounds)
		snprintf(buf, len, "%s", v->bounds);
	else if (v->zero && v->min == 1)
		snprintf(buf, len, "(0 = %s, up to %lld)", v->zero, v->max);
	else if (v->zero)
		snprintf(buf, len, "(0 = %s, or %lld-%lld)", v->zero, v->min, v->max);
	else
		snprintf(buf, len, "(%lld-%lld)", v->min, v->max);
	return buf;
}

void config_usage(FILE *to)
{
	for (const struct config_var *v = config_vars; v->name; v++) {
		char bounds[96];

		config_var_bounds(v, bounds, sizeof bounds);
		fprintf(to, "  %-28s %s%s%s%s%s%s\n", v->name, v->help, *bounds ? " " : "", bounds,
			*v->def ? " [" : "", v->def, *v->def ? "]" : "");
	}
}

/* Writes s for troff: backslashes and hyphens escaped, a leading . or ' made literal. */
static void man_text(FILE *to, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", to);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", to);
		else if (*s == '-')
			fputs("\\-", to);
		else
			fputc(*s, to);
	}
}

void config_usage_man(FILE *to)
{
	for (const struct config_var *v = config_vars; v->name; v++) {
		char bounds[96];

		config_var_bounds(v, bounds, sizeof bounds);
		fputs(".TP\n.B ", to);
		man_text(to, v->name);
		fputc('\n', to);
		man_text(to, v->help);
		if (*bounds) {
			fputc(' ', to);
			man_text(to, bounds);
		}
		fputs(".\n", to);
		if (*v->def) {
			fputs("Default: \\fB", to);
			man_text(to, v->def);
			fputs("\\fR.\n", to);
		}
		if (v->flags & CONFIG_SECRET)
			fputs("Never logged, and removed from the environment at start: exec handlers and "
			      "other children do not inherit it.\n", to);
		if (v->flags & CONFIG_PROCESSOR)
			fputs("A setting of \\fBstreamer processor\\fR.\n", to);
	}
}

void config_usage_names(FILE *to, unsigned flag, const char *before, const char *after)
{
	struct buf text = {0};
	const char *sep = "";
	const char *p, *line;

	buf_puts(&text, before);
	for (const struct config_var *v = config_vars; v->name; v++)
		if (v->flags & flag) {
			buf_printf(&text, "%s%s", sep, v->name);
			sep = ", ";
		}
	buf_puts(&text, after);
	/* Greedy fill: each line takes as many words as fit in 72 columns. */
	for (line = p = text.data; *p; line = p) {
		const char *brk = NULL;

		for (; *p && (p - line <= 72 || !brk); p++)
			if (*p == ' ')
				brk = p;
		if (!*p && (p - line <= 72 || !brk))
			brk = p;
		fprintf(to, "%.*s\n", (int)(brk - line), line);
		p = *brk ? brk + 1 : brk;
	}
	buf_free(&text);
}
