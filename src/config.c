/* config.c - STREAMER_* settings: read once per process, validated, then immutable. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>

#include "config.h"
#include "metrics.h"
#include "ratelimit.h"
#include "util.h"

/* KEY=VALUE pairs read from STREAMER_CONFIG. */
struct file_vars {
	char **keys;
	char **values;
	size_t count;
};

static void file_vars_free(struct file_vars *f)
{
	for (size_t i = 0; i < f->count; i++) {
		free(f->keys[i]);
		free(f->values[i]);
	}
	free(f->keys);
	free(f->values);
	memset(f, 0, sizeof(*f));
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}


static int file_vars_read(struct file_vars *f, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = file_read(path, 1 << 20, &len);
	char *line, *save = NULL;
	int lineno = 0, rc = 0;

	if (!text)
		return err_printf(err, errlen, "STREAMER_CONFIG: cannot read %s: %s", path, strerror(errno));
	if (memchr(text, '\0', len)) {
		free(text);
		return err_printf(err, errlen, "STREAMER_CONFIG: %s contains a NUL byte", path);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key, *value;
		size_t vlen;

		lineno++;
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			rc = err_printf(err, errlen, "STREAMER_CONFIG: %s line %d: expected KEY=VALUE", path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		vlen = strlen(value);
		if (vlen >= 2 && ((value[0] == '"' && value[vlen - 1] == '"') ||
				  (value[0] == '\'' && value[vlen - 1] == '\''))) {
			value[vlen - 1] = '\0';
			value++;
		}
		if (!config_var_find(key) || strcmp(key, "STREAMER_CONFIG") == 0) {
			rc = err_printf(err, errlen, "STREAMER_CONFIG: %s line %d: unknown variable %s", path, lineno, key);
			break;
		}
		f->keys = xrealloc(f->keys, (f->count + 1) * sizeof(*f->keys));
		f->values = xrealloc(f->values, (f->count + 1) * sizeof(*f->values));
		f->keys[f->count] = xstrdup(key);
		f->values[f->count] = xstrdup(value);
		f->count++;
	}
	free(text);
	return rc;
}

/*
 * The values of the settings flagged CONFIG_SECRET (secrets, or may hold
 * one: a URL with user:password@), by index in config_vars. config_load
 * removes them from the environment, so that no child process (exec
 * handlers, shells) inherits them and /proc/PID/environ does not show them;
 * their values are kept here, so a later config_load in the same process
 * (or a forked child) still sees what the environment said.
 */
static struct secret {
	char *value; /* owned */
	int taken;
} *secrets; /* config_var_count entries, allocated by the first scrub_secrets */

extern char **environ;

/*
 * The bounds of the environment block the kernel gave the process (fields
 * env_start and env_end of /proc/self/stat), which /proc/PID/environ shows.
 * Returns 0, or -1 when unknown.
 */
static int env_block(uintptr_t *start, uintptr_t *end)
{
	char text[2048];
	const char *p;
	unsigned long long a = 0, b = 0;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	int field = 2;

	if (!f)
		return -1;
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strrchr(text, ')'); /* the command name may hold spaces and parentheses */
	if (!p)
		return -1;
	for (; *p && field < 50; p++)
		if (*p == ' ')
			field++;
	if (field != 50 || sscanf(p, "%llu %llu", &a, &b) != 2 || a == 0 || b <= a)
		return -1;
	*start = (uintptr_t)a;
	*end = (uintptr_t)b;
	return 0;
}

/*
 * Moves the secret variables out of the environment into secret_values:
 * overwrites the value in place (so the process's original environment
 * block, which /proc/PID/environ shows, no longer holds it) and unsets it.
 */
static void scrub_secrets(void)
{
	uintptr_t start = 0, end = 0;
	int known = env_block(&start, &end) == 0;

	if (!secrets)
		secrets = xcalloc(config_var_count, sizeof(*secrets));
	for (size_t i = 0; i < config_var_count; i++) {
		const char *name = config_vars[i].name;
		size_t n = strlen(name);

		if (!(config_vars[i].flags & CONFIG_SECRET))
			continue;
		for (char **e = environ; e && *e; e++) {
			char *v = *e + n + 1;

			if (strncmp(*e, name, n) != 0 || (*e)[n] != '=')
				continue;
			free(secrets[i].value);
			secrets[i].value = xstrdup(v);
			secrets[i].taken = 1;
			/* Only the kernel's block: setenv's own copies belong to libc. */
			if (known && (uintptr_t)v >= start && (uintptr_t)v < end)
				explicit_bzero(v, strlen(v));
		}
		unsetenv(name);
	}
}

/* The environment's value of name: getenv, or what scrub_secrets took out. Borrowed. */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	if (v)
		return v;
	for (size_t i = 0; secrets && i < config_var_count; i++)
		if (secrets[i].taken && strcmp(config_vars[i].name, name) == 0)
			return secrets[i].value;
	return NULL;
}

/* The raw value: environment, else the file (last line wins), else the default. Borrowed. */
static const char *raw(const struct file_vars *f, const char *name)
{
	const char *v = env_value(name);
	const struct config_var *d;

	if (v)
		return v;
	for (size_t i = f->count; i > 0; i--)
		if (strcmp(f->keys[i - 1], name) == 0)
			return f->values[i - 1];
	d = config_var_find(name);
	return d ? d->def : "";
}

/* A copy of the value, or NULL when it is empty. */
static char *opt_string(const struct file_vars *f, const char *name)
{
	const char *v = raw(f, name);

	return *v ? xstrdup(v) : NULL;
}

/* Reads name as an integer from min to max into out; or returns -1 with the reason in err. */
static int get_int_range(const struct file_vars *f, const char *name, long long min,
			 long long max, long long *out, char *err, size_t errlen)
{
	const char *v = raw(f, name);
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	/* strtoll skips leading blanks and takes a '+': neither is a plain integer. */
	if (!((*v >= '0' && *v <= '9') || *v == '-') || *end != '\0' || errno == ERANGE || n < min || n > max)
		return err_printf(err, errlen, "%s: expected an integer from %lld to %lld, got '%s'",
			    name, min, max, v);
	*out = n;
	return 0;
}

/* The CONFIG_INT entry named name: a name missing from the table is a bug here. */
static const struct config_var *int_var(const char *name)
{
	const struct config_var *v = config_var_find(name);

	if (!v || v->kind != CONFIG_INT)
		abort();
	return v;
}

/*
 * Reads the CONFIG_INT variable name within its table bounds: from min to
 * max, or from 0 when 0 has a meaning (zero). Values between 0 and such a
 * min are the caller's to refuse, with its own reason: only
 * STREAMER_KEEPALIVE_INTERVAL has that gap (test_config_vars checks that
 * every gap is refused).
 */
static int get_int(const struct file_vars *f, const char *name, long long *out, char *err, size_t errlen)
{
	const struct config_var *v = int_var(name);

	return get_int_range(f, name, v->zero ? 0 : v->min, v->max, out, err, errlen);
}

/*
 * STREAMER_TOUCH_INTERVAL (after the TTL): empty is TTL/20 capped at 60 s,
 * else whole seconds from 0 (every message writes) up to the TTL.
 */
static int load_touch_interval(struct config *cfg, const struct file_vars *f, char *err,
			       size_t errlen)
{
	long long n;

	if (!*raw(f, "STREAMER_TOUCH_INTERVAL")) {
		cfg->touch_interval_ms = cfg->connection_ttl * 1000 / 20;
		if (cfg->touch_interval_ms > 60000)
			cfg->touch_interval_ms = 60000;
		return 0;
	}
	if (get_int_range(f, "STREAMER_TOUCH_INTERVAL", 0, cfg->connection_ttl, &n, err, errlen) < 0)
		return -1;
	cfg->touch_interval_ms = n * 1000;
	return 0;
}

static char **split_list(const char *s)
{
	char **list = NULL;
	size_t n = 0;
	const char *p = s;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *a = p, *b = p + len;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			list = xrealloc(list, (n + 2) * sizeof(*list));
			list[n++] = xstrndup(a, (size_t)(b - a));
			list[n] = NULL;
		}
		p = end ? end + 1 : p + len;
	}
	return list;
}

/*
 * STREAMER_CALLBACK_URL: one http(s) URL, or for the pushpin style a
 * comma-separated list of up to CALLBACK_URLS_MAX different ones (one per
 * Pushpin node; blanks around a comma are allowed), into seen (trimmed, in
 * order). Returns 0, or -1 with the reason in err.
 */
static int callback_urls_load(struct strvec *seen, const char *list, enum callback_style style,
			      char *err, size_t errlen)
{
	int rc = 0;

	for (const char *s = list;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		char *one;

		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		one = xstrndup(s, n);
		if (!n)
			rc = err_printf(err, errlen, "STREAMER_CALLBACK_URL: URL number %zu of the list is empty "
					"(a comma-separated list of http:// or https:// URLs)", seen->n + 1);
		else if (strncmp(one, "http://", 7) != 0 && strncmp(one, "https://", 8) != 0)
			rc = err_printf(err, errlen, "STREAMER_CALLBACK_URL: expected an http:// or https:// URL, got '%s'",
					one);
		for (size_t i = 0; rc == 0 && i < seen->n; i++)
			if (strcmp(seen->v[i], one) == 0)
				rc = err_printf(err, errlen, "STREAMER_CALLBACK_URL: URL number %zu repeats number %zu",
						seen->n + 1, i + 1);
		strvec_push(seen, one);
		free(one);
		if (rc < 0 || !end)
			break;
		s = end + 1;
	}
	if (rc == 0 && seen->n > 1 && style == CALLBACK_APIGW)
		rc = err_printf(err, errlen, "STREAMER_CALLBACK_URL: the apigw style takes exactly one URL "
				"(the stage URL), got %zu", seen->n);
	if (rc == 0 && seen->n > CALLBACK_URLS_MAX)
		rc = err_printf(err, errlen, "STREAMER_CALLBACK_URL: at most %d URLs, got %zu",
				CALLBACK_URLS_MAX, seen->n);
	return rc;
}

/* The callback URL settings (push.c) and how long the streams' messages are kept (history.h). */
static int push_config_load(struct config *cfg, const struct file_vars *f, char *err, size_t errlen)
{
	const char *style = raw(f, "STREAMER_CALLBACK_STYLE");
	long long n;

	if (strcmp(style, "pushpin") == 0)
		cfg->callback_style = CALLBACK_PUSHPIN;
	else if (strcmp(style, "apigw") == 0)
		cfg->callback_style = CALLBACK_APIGW;
	else
		return err_printf(err, errlen, "STREAMER_CALLBACK_STYLE: expected pushpin or apigw, got '%s'", style);
	cfg->callback_url = opt_string(f, "STREAMER_CALLBACK_URL");
	if (cfg->callback_url &&
	    callback_urls_load(&cfg->callback_urls, cfg->callback_url, cfg->callback_style, err, errlen) < 0)
		return -1;
	if (get_int(f, "STREAMER_CALLBACK_CONNECT_TIMEOUT", &n, err, errlen) < 0)
		return -1;
	cfg->callback_connect_timeout_ms = n;
	if (get_int(f, "STREAMER_CALLBACK_TIMEOUT", &n, err, errlen) < 0)
		return -1;
	cfg->callback_timeout_ms = n;
	if (get_int(f, "STREAMER_CALLBACK_BREAKER_RESET", &n, err, errlen) < 0)
		return -1;
	cfg->callback_breaker_reset = n;
	if (get_int(f, "STREAMER_HISTORY_SIZE", &n, err, errlen) < 0)
		return -1;
	cfg->history_size = n;
	if (get_int(f, "STREAMER_HISTORY_TTL", &n, err, errlen) < 0)
		return -1;
	cfg->history_ttl = n;
	cfg->aws_region = opt_string(f, "STREAMER_AWS_REGION");
	cfg->aws_access_key_id = opt_string(f, "STREAMER_AWS_ACCESS_KEY_ID");
	cfg->aws_secret_access_key = opt_string(f, "STREAMER_AWS_SECRET_ACCESS_KEY");
	cfg->aws_session_token = opt_string(f, "STREAMER_AWS_SESSION_TOKEN");
	if (cfg->aws_region && (!cfg->aws_access_key_id || !cfg->aws_secret_access_key))
		return err_printf(err, errlen, "STREAMER_AWS_REGION: needs STREAMER_AWS_ACCESS_KEY_ID and STREAMER_AWS_SECRET_ACCESS_KEY");
	if (cfg->aws_region && !str_is_token(cfg->aws_region, strlen(cfg->aws_region), 32, "-"))
		return err_printf(err, errlen, "STREAMER_AWS_REGION: expected a region name like eu-west-1, got '%s'",
			    cfg->aws_region);
	return 0;
}

/* The async request settings: plugins, exec actions, output directory, request limits. */
static int requests_config_load(struct config *cfg, const struct file_vars *f, char *err, size_t errlen)
{
	long long n;

	cfg->plugins = split_list(raw(f, "STREAMER_PLUGINS"));
	for (char **p = cfg->plugins; p && *p; p++)
		if ((*p)[0] != '/')
			return err_printf(err, errlen, "STREAMER_PLUGINS: '%s' is not an absolute path", *p);
	cfg->exec_actions = split_list(raw(f, "STREAMER_EXEC_ACTIONS"));
	for (char **a = cfg->exec_actions; a && *a; a++) {
		const char *eq = strchr(*a, '=');

		if (!eq || !str_is_token(*a, (size_t)(eq - *a), 64, "._-") || eq[1] != '/')
			return err_printf(err, errlen, "STREAMER_EXEC_ACTIONS: expected name=/absolute/path (name [A-Za-z0-9._-]{1,64}), got '%s'", *a);
	}
	cfg->output_dir = opt_string(f, "STREAMER_OUTPUT_DIR");
	if (!cfg->output_dir || cfg->output_dir[0] != '/')
		return err_printf(err, errlen, "STREAMER_OUTPUT_DIR: must be an absolute directory path, got '%s'",
			    raw(f, "STREAMER_OUTPUT_DIR"));
	if (get_int(f, "STREAMER_JOB_LEASE", &n, err, errlen) < 0)
		return -1;
	cfg->job_lease = n;
	if (get_int(f, "STREAMER_JOB_MAX_ATTEMPTS", &n, err, errlen) < 0)
		return -1;
	cfg->job_max_attempts = n;
	if (get_int(f, "STREAMER_JOB_TIMEOUT", &n, err, errlen) < 0)
		return -1;
	cfg->job_timeout = n;
	if (get_int(f, "STREAMER_RESULT_TTL", &n, err, errlen) < 0)
		return -1;
	cfg->result_ttl = n;
	cfg->report_permission = opt_string(f, "STREAMER_REPORT_PERMISSION");
	if (cfg->report_permission &&
	    !str_is_token(cfg->report_permission, strlen(cfg->report_permission), 128, "._:-"))
		return err_printf(err, errlen, "STREAMER_REPORT_PERMISSION: expected a permission name ([A-Za-z0-9._:-]{1,128}) or empty, got '%s'",
			    cfg->report_permission);
	if (get_int(f, "STREAMER_REPORT_QUOTA_BYTES", &n, err, errlen) < 0)
		return -1;
	cfg->report_quota_bytes = n;
	return 0;
}

/* STREAMER_DB_GROUP: a group name or number, resolved now so a typo stops the process. */
static int db_group_load(struct config *cfg, const char *v, char *err, size_t errlen)
{
	struct group *g;
	char *end;
	long long n;

	cfg->db_gid = -1;
	if (!*v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v >= '0' && *v <= '9' && *end == '\0' && errno == 0 && n <= INT_MAX) {
		cfg->db_gid = n;
		return 0;
	}
	errno = 0;
	g = getgrnam(v);
	if (!g)
		return err_printf(err, errlen, "STREAMER_DB_GROUP: no group named '%s'", v);
	cfg->db_gid = (long long)g->gr_gid;
	return 0;
}

static void free_list(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

/* A permission setting: NULL when empty, else a permission name. */
static int permission_load(const struct file_vars *f, const char *name, char **out, char *err,
			   size_t errlen)
{
	*out = opt_string(f, name);
	if (*out && !str_is_token(*out, strlen(*out), 128, "._:-"))
		return err_printf(err, errlen, "%s: expected a permission name ([A-Za-z0-9._:-]{1,128}) or empty, got '%s'",
				  name, *out);
	return 0;
}

/* The server API (api.c) and the topic rules (handlers_topics.c). */
static int api_config_load(struct config *cfg, const struct file_vars *f, char *err, size_t errlen)
{
	char **keys = split_list(raw(f, "STREAMER_API_KEY"));
	const char *policy = raw(f, "STREAMER_TOPIC_POLICY");
	long long n;
	int rc = 0;

	for (char **k = keys; k && *k; k++) {
		size_t len = strlen(*k);

		/* The key itself never goes into the message: only its position. */
		if (rc == 0 && (len < 16 || len > 256 || !str_is_token(*k, len, 256, "._~+/=-")))
			rc = err_printf(err, errlen, "STREAMER_API_KEY: key number %zu must be 16 to 256 characters of [A-Za-z0-9._~+/=-]",
					cfg->api_keys.n + 1);
		strvec_push(&cfg->api_keys, *k);
		explicit_bzero(*k, len);
	}
	free_list(keys);
	if (rc < 0)
		return -1;
	if (permission_load(f, "STREAMER_API_PERMISSION", &cfg->api_permission, err, errlen) < 0)
		return -1;
	if (!cfg->api_permission)
		return err_printf(err, errlen, "STREAMER_API_PERMISSION: must name a permission (default admin)");
	if (get_int(f, "STREAMER_API_MAX_BODY", &n, err, errlen) < 0)
		return -1;
	cfg->api_max_body = (size_t)n;
	if (strcmp(policy, "open") == 0)
		cfg->topic_policy_claims = 0;
	else if (strcmp(policy, "claims") == 0)
		cfg->topic_policy_claims = 1;
	else
		return err_printf(err, errlen, "STREAMER_TOPIC_POLICY: expected open or claims, got '%s'", policy);
	return permission_load(f, "STREAMER_PRESENCE_PERMISSION", &cfg->presence_permission, err, errlen);
}

/* Quotas and rate limits (ratelimit.c, queue.c, conn.c). */
static int limits_config_load(struct config *cfg, const struct file_vars *f, char *err, size_t errlen)
{
	long long n;

	if (get_int(f, "STREAMER_RATE_LIMIT", &n, err, errlen) < 0)
		return -1;
	cfg->rate_limit = n;
	if (get_int(f, "STREAMER_RATE_BURST", &n, err, errlen) < 0)
		return -1;
	cfg->rate_burst = n;
	cfg->ratelimit_file = opt_string(f, "STREAMER_RATELIMIT_FILE");
	if (cfg->ratelimit_file && strcmp(cfg->ratelimit_file, "off") != 0 && cfg->ratelimit_file[0] != '/')
		return err_printf(err, errlen, "STREAMER_RATELIMIT_FILE: expected an absolute path or off, got '%s'",
			    cfg->ratelimit_file);
	if (get_int(f, "STREAMER_MAX_REQUESTS_PER_CONNECTION", &n, err, errlen) < 0)
		return -1;
	cfg->max_requests_per_connection = n;
	if (get_int(f, "STREAMER_MAX_PENDING_PER_TENANT", &n, err, errlen) < 0)
		return -1;
	cfg->max_pending_per_tenant = n;
	if (get_int(f, "STREAMER_MAX_CONNECTIONS_PER_USER", &n, err, errlen) < 0)
		return -1;
	cfg->max_connections_per_user = n;
	return 0;
}

int config_load(struct config *cfg, int flags, char *err, size_t errlen)
{
	struct file_vars f = {0};
	const char *path;
	long long n, pushpin_min;
	int alg, level;

	memset(cfg, 0, sizeof(*cfg));
	/*
	 * Every process that loads the settings holds secrets: no other process
	 * of the same user (an exec handler) may read its memory or
	 * /proc/PID/environ, and no child inherits them in its environment.
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	scrub_secrets();
	path = env_value("STREAMER_CONFIG");
	if (path && *path && file_vars_read(&f, path, err, errlen) < 0)
		goto fail;

	cfg->db_path = opt_string(&f, "STREAMER_DB");
	if (!cfg->db_path) {
		err_printf(err, errlen, "STREAMER_DB: must name the database (a SQLite file path, "
			   "or a postgresql:// URL)");
		goto fail;
	}
	cfg->host_dir = opt_string(&f, "STREAMER_HOST_DIR");
	if (cfg->host_dir && cfg->host_dir[0] != '/') {
		err_printf(err, errlen, "STREAMER_HOST_DIR: expected an absolute directory, got '%s'",
			   cfg->host_dir);
		goto fail;
	}
	if (db_group_load(cfg, raw(&f, "STREAMER_DB_GROUP"), err, errlen) < 0)
		goto fail;
	if (get_int(&f, "STREAMER_DB_BUSY_TIMEOUT", &n, err, errlen) < 0)
		goto fail;
	cfg->busy_timeout_ms = (int)n;

	alg = auth_alg_parse(raw(&f, "STREAMER_JWT_ALG"));
	if (alg < 0) {
		err_printf(err, errlen, "STREAMER_JWT_ALG: unsupported algorithm '%s' (use RS256, RS384, RS512, ES256, ES384, HS256, HS384 or HS512)",
		     raw(&f, "STREAMER_JWT_ALG"));
		goto fail;
	}
	cfg->jwt_alg = (enum auth_alg)alg;
	cfg->jwt_key_file = opt_string(&f, "STREAMER_JWT_KEY_FILE");
	if (!cfg->jwt_key_file && (flags & CONFIG_NEED_KEY)) {
		err_printf(err, errlen, "STREAMER_JWT_KEY_FILE: must name the JWT verification key (PEM public key or HS secret file)");
		goto fail;
	}
	cfg->jwt_issuer = opt_string(&f, "STREAMER_JWT_ISSUER");
	cfg->jwt_audience = opt_string(&f, "STREAMER_JWT_AUDIENCE");
	if (get_int(&f, "STREAMER_JWT_LEEWAY", &n, err, errlen) < 0)
		goto fail;
	cfg->jwt_leeway = n;

	cfg->allowed_tenants = split_list(raw(&f, "STREAMER_ALLOWED_TENANTS"));
	cfg->grip_key = opt_string(&f, "STREAMER_GRIP_KEY");

	if (get_int(&f, "STREAMER_CONNECTION_TTL", &n, err, errlen) < 0)
		goto fail;
	cfg->connection_ttl = n;
	if (load_touch_interval(cfg, &f, err, errlen) < 0)
		goto fail;
	if (get_int(&f, "STREAMER_MAX_MESSAGE_BYTES", &n, err, errlen) < 0)
		goto fail;
	cfg->max_message_bytes = (size_t)n;
	/* A body holds a whole message and the dialect's framing. */
	if (get_int_range(&f, "STREAMER_MAX_BODY_BYTES", (long long)cfg->max_message_bytes + 64,
			  int_var("STREAMER_MAX_BODY_BYTES")->max, &n, err, errlen) < 0)
		goto fail;
	cfg->max_body_bytes = (size_t)n;
	if (get_int(&f, "STREAMER_KEEPALIVE_INTERVAL", &n, err, errlen) < 0)
		goto fail;
	pushpin_min = int_var("STREAMER_KEEPALIVE_INTERVAL")->min;
	if (n > 0 && n < pushpin_min) {
		err_printf(err, errlen, "STREAMER_KEEPALIVE_INTERVAL: Pushpin needs 0 (off) or at least %lld seconds, got '%lld'",
			   pushpin_min, n);
		goto fail;
	}
	cfg->keepalive_interval = (int)n;

	level = log_level_parse(raw(&f, "STREAMER_LOG_LEVEL"));
	if (level < 0) {
		err_printf(err, errlen, "STREAMER_LOG_LEVEL: expected debug, info, warn or error, got '%s'",
		     raw(&f, "STREAMER_LOG_LEVEL"));
		goto fail;
	}
	cfg->log_level = (enum log_level)level;
	cfg->log_file = opt_string(&f, "STREAMER_LOG_FILE");

	if (requests_config_load(cfg, &f, err, errlen) < 0 || push_config_load(cfg, &f, err, errlen) < 0)
		goto fail;
	cfg->metrics_file = opt_string(&f, "STREAMER_METRICS_FILE");
	if (cfg->metrics_file && strcmp(cfg->metrics_file, "off") != 0 && cfg->metrics_file[0] != '/') {
		err_printf(err, errlen, "STREAMER_METRICS_FILE: expected an absolute path or off, got '%s'",
		     cfg->metrics_file);
		goto fail;
	}
	cfg->metrics_token = opt_string(&f, "STREAMER_METRICS_TOKEN");
	if (limits_config_load(cfg, &f, err, errlen) < 0 || api_config_load(cfg, &f, err, errlen) < 0)
		goto fail;

	file_vars_free(&f);
	return 0;
fail:
	file_vars_free(&f);
	config_free(cfg);
	return -1;
}

void config_free(struct config *cfg)
{
	free(cfg->db_path);
	free(cfg->host_dir);
	free(cfg->jwt_key_file);
	free(cfg->jwt_issuer);
	free(cfg->jwt_audience);
	if (cfg->allowed_tenants)
		for (char **t = cfg->allowed_tenants; *t; t++)
			free(*t);
	free(cfg->allowed_tenants);
	free(cfg->grip_key);
	free(cfg->log_file);
	free_list(cfg->plugins);
	free_list(cfg->exec_actions);
	free(cfg->output_dir);
	free(cfg->report_permission);
	free(cfg->callback_url);
	strvec_free(&cfg->callback_urls);
	free(cfg->aws_region);
	free(cfg->aws_access_key_id);
	free(cfg->aws_secret_access_key);
	free(cfg->aws_session_token);
	free(cfg->metrics_file);
	free(cfg->metrics_token);
	free(cfg->ratelimit_file);
	for (size_t i = 0; i < cfg->api_keys.n; i++)
		explicit_bzero(cfg->api_keys.v[i], strlen(cfg->api_keys.v[i]));
	strvec_free(&cfg->api_keys);
	free(cfg->api_permission);
	free(cfg->presence_permission);
	memset(cfg, 0, sizeof(*cfg));
}

int config_tenant_allowed(const struct config *cfg, const char *tenant)
{
	if (!cfg->allowed_tenants)
		return 1;
	for (char **t = cfg->allowed_tenants; *t; t++)
		if (strcmp(*t, tenant) == 0)
			return 1;
	return 0;
}

int config_metrics_open(const struct config *cfg, char *err, size_t errlen)
{
	char *path;
	int rc;

	if (cfg->metrics_file && strcmp(cfg->metrics_file, "off") == 0)
		return 0;
	path = cfg->metrics_file ? xstrdup(cfg->metrics_file) : metrics_default_path(cfg->db_path, cfg->host_dir);
	rc = metrics_open(path, err, errlen);
	free(path);
	return rc;
}

struct ratelimit *config_ratelimit_open(const struct config *cfg, char *err, size_t errlen)
{
	struct ratelimit *rl;
	char *path;

	err[0] = '\0';
	if (cfg->rate_limit <= 0 || (cfg->ratelimit_file && strcmp(cfg->ratelimit_file, "off") == 0))
		return NULL;
	path = cfg->ratelimit_file ? xstrdup(cfg->ratelimit_file) : ratelimit_default_path(cfg->db_path, cfg->host_dir);
	rl = ratelimit_open(path, err, errlen);
	free(path);
	if (!rl) {
		char why[300];

		/* Limiting per worker is better than not limiting: the reason is the caller's to log. */
		rl = ratelimit_open(NULL, why, sizeof why);
	}
	return rl;
}
