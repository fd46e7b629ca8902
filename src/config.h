/* config.h - STREAMER_* settings: read once per process, validated, then immutable. */
#ifndef STREAMER_CONFIG_H
#define STREAMER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "auth.h"
#include "log.h"
#include "util.h"

/* The most callback URLs (Pushpin nodes) STREAMER_CALLBACK_URL may list. */
#define CALLBACK_URLS_MAX 32

/* How pushes reach clients (STREAMER_CALLBACK_STYLE). */
enum callback_style { CALLBACK_PUSHPIN, CALLBACK_APIGW };

struct config {
	char *db_path;            /* STREAMER_DB */
	char *host_dir;           /* STREAMER_HOST_DIR, NULL = beside a SQLite file, else /var/tmp */
	long long db_gid;         /* STREAMER_DB_GROUP resolved, -1 = none (database mode 0600) */
	enum auth_alg jwt_alg;    /* STREAMER_JWT_ALG */
	char *jwt_key_file;       /* STREAMER_JWT_KEY_FILE (may be NULL when not required) */
	char *jwt_issuer;         /* STREAMER_JWT_ISSUER, NULL = not checked */
	char *jwt_audience;       /* STREAMER_JWT_AUDIENCE, NULL = not checked */
	int64_t jwt_leeway;       /* STREAMER_JWT_LEEWAY, seconds */
	char **allowed_tenants;   /* STREAMER_ALLOWED_TENANTS, NULL-terminated; NULL = all */
	char *grip_key;           /* STREAMER_GRIP_KEY, NULL = Grip-Sig not required */
	int64_t connection_ttl;   /* STREAMER_CONNECTION_TTL, seconds */
	int64_t touch_interval_ms; /* STREAMER_TOUCH_INTERVAL in ms; its default is TTL/20, at most 60 s */
	size_t max_message_bytes; /* STREAMER_MAX_MESSAGE_BYTES */
	size_t max_body_bytes;    /* STREAMER_MAX_BODY_BYTES */
	int keepalive_interval;   /* STREAMER_KEEPALIVE_INTERVAL, seconds, 0 = off */
	int busy_timeout_ms;      /* STREAMER_DB_BUSY_TIMEOUT, milliseconds */
	enum log_level log_level; /* STREAMER_LOG_LEVEL */
	char *log_file;           /* STREAMER_LOG_FILE, NULL = stderr */
	char **plugins;           /* STREAMER_PLUGINS, absolute paths, NULL-terminated; NULL = none */
	char **exec_actions;      /* STREAMER_EXEC_ACTIONS, "name=/abs/path" each, NULL-terminated; NULL = none */
	char *output_dir;         /* STREAMER_OUTPUT_DIR, absolute: where async actions write files */
	int64_t job_lease;        /* STREAMER_JOB_LEASE, seconds a processor's claim lasts unrenewed */
	int64_t job_max_attempts; /* STREAMER_JOB_MAX_ATTEMPTS, runs of one request at most */
	int64_t job_timeout;      /* STREAMER_JOB_TIMEOUT, seconds an async request may run */
	int64_t result_ttl;       /* STREAMER_RESULT_TTL, seconds a finished request (and a report file) is kept */
	char *report_permission;  /* STREAMER_REPORT_PERMISSION, NULL = generate_report needs none */
	int64_t report_quota_bytes; /* STREAMER_REPORT_QUOTA_BYTES, stored report bytes per tenant, 0 = no cap */
	char *callback_url;       /* STREAMER_CALLBACK_URL as given, NULL = pushes are not configured */
	struct strvec callback_urls; /* ... its URLs, trimmed, in order (one per Pushpin node) */
	enum callback_style callback_style;   /* STREAMER_CALLBACK_STYLE */
	int64_t callback_connect_timeout_ms;  /* STREAMER_CALLBACK_CONNECT_TIMEOUT */
	int64_t callback_timeout_ms;          /* STREAMER_CALLBACK_TIMEOUT: one push, retries included */
	int64_t callback_breaker_reset;       /* STREAMER_CALLBACK_BREAKER_RESET, seconds */
	int64_t history_size;                 /* STREAMER_HISTORY_SIZE, messages kept per stream */
	int64_t history_ttl;                  /* STREAMER_HISTORY_TTL, seconds a stream's message is kept */
	char *aws_region;                     /* STREAMER_AWS_REGION, NULL = no SigV4 */
	char *aws_access_key_id;              /* STREAMER_AWS_ACCESS_KEY_ID */
	char *aws_secret_access_key;          /* STREAMER_AWS_SECRET_ACCESS_KEY */
	char *aws_session_token;              /* STREAMER_AWS_SESSION_TOKEN, may be NULL */
	char *metrics_file;       /* STREAMER_METRICS_FILE, NULL = <db>.metrics, "off" = none */
	char *metrics_token;      /* STREAMER_METRICS_TOKEN, NULL = /metrics is open */
	struct strvec api_keys;   /* STREAMER_API_KEY, each key; empty = only an admin JWT opens the API */
	char *api_permission;     /* STREAMER_API_PERMISSION, never NULL after config_load */
	size_t api_max_body;      /* STREAMER_API_MAX_BODY, bytes */
	int topic_policy_claims;  /* STREAMER_TOPIC_POLICY: 1 = claims, 0 = open */
	char *presence_permission; /* STREAMER_PRESENCE_PERMISSION, NULL = presence needs none */
	int64_t rate_limit;       /* STREAMER_RATE_LIMIT, messages per second per connection, 0 = off */
	int64_t rate_burst;       /* STREAMER_RATE_BURST, messages a connection may send at once */
	char *ratelimit_file;     /* STREAMER_RATELIMIT_FILE, NULL = <db>.ratelimit, "off" = no message limit */
	int64_t max_requests_per_connection; /* STREAMER_MAX_REQUESTS_PER_CONNECTION, live async requests, 0 = no limit */
	int64_t max_pending_per_tenant;      /* STREAMER_MAX_PENDING_PER_TENANT, 0 = no limit */
	int64_t max_connections_per_user;    /* STREAMER_MAX_CONNECTIONS_PER_USER, live connections, 0 = no limit */
};

/* What the caller needs: the worker needs the JWT key, `init-db` does not. */
#define CONFIG_NEED_KEY 1

/*
 * Fills cfg from the environment and, when STREAMER_CONFIG names a file, from
 * its KEY=VALUE lines (the environment wins). Every value is validated. On
 * failure returns -1 and writes a one-line reason naming the variable into
 * err (errlen bytes); cfg is then left freed. On success returns 0; release
 * with config_free.
 *
 * Side effects on the whole process, first thing, whatever the outcome: it
 * becomes non-dumpable (prctl PR_SET_DUMPABLE 0: no core dumps, and other
 * processes of the same user, such as exec handlers, cannot read its memory
 * or /proc/PID/environ), and the secret settings (the config_vars entries
 * flagged CONFIG_SECRET: keys, tokens, the callback URL, which may hold a
 * password, and STREAMER_CONFIG) are wiped from the environment, so
 * children never inherit them. Later calls in the process, and in forked
 * children, still see the values the environment had.
 */
int config_load(struct config *cfg, int flags, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Releases everything config_load allocated. Safe on a zeroed struct. */
void config_free(struct config *cfg);

/*
 * Maps the host's shared metrics file (STREAMER_METRICS_FILE, default
 * "<STREAMER_DB>.metrics"); a no-op returning 0 when it is "off". Returns
 * 0, or -1 with a reason in err (the process still works, uncounted).
 */
int config_metrics_open(const struct config *cfg, char *err, size_t errlen);

struct ratelimit;

/*
 * Maps the host's shared rate limit table (STREAMER_RATELIMIT_FILE, default
 * "<STREAMER_DB>.ratelimit"). Returns NULL with err[0] == '\0' when the
 * message limit is off (STREAMER_RATE_LIMIT=0 or the file "off"). When the
 * file cannot be mapped, falls back to a table of this process only (each
 * worker then limits on its own) and writes the reason into err. Release
 * with ratelimit_close.
 */
struct ratelimit *config_ratelimit_open(const struct config *cfg, char *err, size_t errlen);

/* Returns 1 when tenant is allowed by STREAMER_ALLOWED_TENANTS. */
int config_tenant_allowed(const struct config *cfg, const char *tenant);

/* What a variable holds: how config_load reads it and how --help shows it. */
enum config_kind {
	CONFIG_TEXT,   /* a string (a path, a URL, a name); empty = not set */
	CONFIG_INT,    /* a decimal integer within the entry's bounds */
	CONFIG_LIST,   /* comma-separated items, blanks around them ignored */
	CONFIG_CHOICE, /* one word of a fixed set, named in the help */
};

/* config_var.flags */
#define CONFIG_SECRET 1    /* wiped from the environment by config_load (see there) */
#define CONFIG_PROCESSOR 2 /* a setting of the processor: listed by `streamer processor --help` */

/*
 * One recognised variable. The single source of each setting's name,
 * default, bounds and help: config_load reads the bounds from here, --help
 * (config_usage) prints the help with the bounds rendered from the numbers,
 * streamer-fcgi(8) is generated from it (config_usage_man), and a unit test
 * checks docs/configuration.md's table against it.
 *
 * CONFIG_INT bounds: a value is accepted within [min, max]; when zero is
 * set, 0 is accepted too and means what zero says. Rendered as "(min-max)",
 * "(0 = zero, up to max)" when min is 1, "(0 = zero, or min-max)" otherwise;
 * bounds, when set, is shown instead (for a bound that depends on another
 * variable, or a max that is only a sanity cap).
 */
struct config_var {
	const char *name;
	const char *def;  /* the default, "" = empty */
	const char *help; /* the meaning, without the bounds */
	enum config_kind kind;
	long long min, max;
	const char *zero;
	const char *bounds;
	unsigned flags;   /* CONFIG_SECRET, CONFIG_PROCESSOR */
};

/*
 * The table (src/config_vars.c), in the order --help lists it: config_var_count
 * entries, then one whose name is NULL.
 */
extern const struct config_var config_vars[];
extern const size_t config_var_count;

/* The entry named name, or NULL when no such variable exists. */
const struct config_var *config_var_find(const char *name);

/*
 * Writes a CONFIG_INT entry's bounds as --help shows them ("(1-3600)")
 * into buf (len bytes, truncated); "" for other kinds. Returns buf.
 */
const char *config_var_bounds(const struct config_var *v, char *buf, size_t len);

/* Prints the table as --help lists it: "  NAME  help (bounds) [default]" lines. */
void config_usage(FILE *to);

/*
 * Prints the table as man(7) source for a page's ENVIRONMENT section: a .TP
 * paragraph per variable (name, help, bounds, default, and a note on secrets
 * and on the variables only the processor reads), text escaped for troff.
 */
void config_usage_man(FILE *to);

/*
 * Prints before, the names of the variables with flag joined by ", ", then
 * after, as one paragraph wrapped at 72 columns (for a command's --help).
 */
void config_usage_names(FILE *to, unsigned flag, const char *before, const char *after);

#endif
