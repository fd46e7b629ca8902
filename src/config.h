/* config.h - STREAMER_* settings: read once per process, validated, then immutable. */
#ifndef STREAMER_CONFIG_H
#define STREAMER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "log.h"

struct config {
	char *db_path;            /* STREAMER_DB */
	enum auth_alg jwt_alg;    /* STREAMER_JWT_ALG */
	char *jwt_key_file;       /* STREAMER_JWT_KEY_FILE (may be NULL when not required) */
	char *jwt_issuer;         /* STREAMER_JWT_ISSUER, NULL = not checked */
	char *jwt_audience;       /* STREAMER_JWT_AUDIENCE, NULL = not checked */
	int64_t jwt_leeway;       /* STREAMER_JWT_LEEWAY, seconds */
	char **allowed_tenants;   /* STREAMER_ALLOWED_TENANTS, NULL-terminated; NULL = all */
	char *grip_key;           /* STREAMER_GRIP_KEY, NULL = Grip-Sig not required */
	int64_t connection_ttl;   /* STREAMER_CONNECTION_TTL, seconds */
	size_t max_message_bytes; /* STREAMER_MAX_MESSAGE_BYTES */
	size_t max_body_bytes;    /* STREAMER_MAX_BODY_BYTES */
	int keepalive_interval;   /* STREAMER_KEEPALIVE_INTERVAL, seconds, 0 = off */
	int busy_timeout_ms;      /* STREAMER_DB_BUSY_TIMEOUT, milliseconds */
	enum log_level log_level; /* STREAMER_LOG_LEVEL */
	char *log_file;           /* STREAMER_LOG_FILE, NULL = stderr */
};

/* What the caller needs: the worker needs the JWT key, `init-db` does not. */
#define CONFIG_NEED_KEY 1

/*
 * Fills cfg from the environment and, when STREAMER_CONFIG names a file, from
 * its KEY=VALUE lines (the environment wins). Every value is validated. On
 * failure returns -1 and writes a one-line reason naming the variable into
 * err (errlen bytes); cfg is then left freed. On success returns 0; release
 * with config_free.
 */
int config_load(struct config *cfg, int flags, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Releases everything config_load allocated. Safe on a zeroed struct. */
void config_free(struct config *cfg);

/* Returns 1 when tenant is allowed by STREAMER_ALLOWED_TENANTS. */
int config_tenant_allowed(const struct config *cfg, const char *tenant);

/*
 * The table of recognised variables with default and meaning, for --help
 * and the README. Terminated by an entry whose name is NULL.
 */
struct config_var {
	const char *name;
	const char *def;
	const char *help;
};
extern const struct config_var config_vars[];

#endif
