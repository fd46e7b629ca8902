/* test_config.c - unit tests for config_load: defaults, validation, the KEY=VALUE file, tenant lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "config.h"
#include "util.h"
#include "tap.h"

static void clean_env(void)
{
	for (const struct config_var *v = config_vars; v->name; v++)
		unsetenv(v->name);
	setenv("STREAMER_DB", "/tmp/x.db", 1);
}

static void test_defaults(void)
{
	struct config c;
	char err[256];

	clean_env();
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(c.jwt_alg, AUTH_RS256);
	CHECK_INT(c.jwt_leeway, 60);
	CHECK_INT(c.connection_ttl, 86400);
	CHECK_INT(c.max_message_bytes, 131072);
	CHECK_INT(c.keepalive_interval, 60);
	CHECK_INT(c.log_level, LOG_INFO);
	CHECK(c.allowed_tenants == NULL);
	CHECK(c.grip_key == NULL);
	CHECK(c.jwt_issuer == NULL);
	CHECK(config_tenant_allowed(&c, "anyone"));
	config_free(&c);
}

static void test_key_required(void)
{
	struct config c;
	char err[256];

	clean_env();
	CHECK_INT(config_load(&c, CONFIG_NEED_KEY, err, sizeof(err)), -1);
	CHECK(strstr(err, "STREAMER_JWT_KEY_FILE") != NULL);
	setenv("STREAMER_JWT_KEY_FILE", "/k.pem", 1);
	CHECK_INT(config_load(&c, CONFIG_NEED_KEY, err, sizeof(err)), 0);
	CHECK_STR(c.jwt_key_file, "/k.pem");
	config_free(&c);
}

static void test_tenant_list(void)
{
	struct config c;
	char err[256];

	clean_env();
	setenv("STREAMER_ALLOWED_TENANTS", " acme ,, beta,gamma ", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK(config_tenant_allowed(&c, "acme"));
	CHECK(config_tenant_allowed(&c, "beta"));
	CHECK(config_tenant_allowed(&c, "gamma"));
	CHECK(!config_tenant_allowed(&c, "acm"));
	CHECK(!config_tenant_allowed(&c, ""));
	CHECK(!config_tenant_allowed(&c, "acme,beta"));
	config_free(&c);
}

static void test_bad_values(void)
{
	static const char *const bad[][2] = {
		{ "STREAMER_JWT_ALG", "none" }, { "STREAMER_JWT_ALG", "" },
		{ "STREAMER_JWT_LEEWAY", "1e3" }, { "STREAMER_JWT_LEEWAY", " 5" },
		{ "STREAMER_CONNECTION_TTL", "59" }, { "STREAMER_CONNECTION_TTL", "99999999999999999999" },
		{ "STREAMER_MAX_MESSAGE_BYTES", "63" }, { "STREAMER_KEEPALIVE_INTERVAL", "19" },
		{ "STREAMER_LOG_LEVEL", "INFO" }, { "STREAMER_DB", "" }, { "STREAMER_HOST_DIR", "run/st" },
	};
	struct config c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clean_env();
		setenv(bad[i][0], bad[i][1], 1);
		CHECK_INT(config_load(&c, 0, err, sizeof(err)), -1);
		if (!strstr(err, bad[i][0])) {
			printf("# %s=%s: message does not name it: %s\n", bad[i][0], bad[i][1], err);
			CHECK(0);
		}
	}
}

static void test_file(void)
{
	char path[] = "/tmp/streamer-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct config c;
	char err[256];

	fputs("# a comment\n\n  STREAMER_JWT_LEEWAY = 7 \nSTREAMER_JWT_ISSUER=\"https://id.example\"\n"
	      "STREAMER_LOG_LEVEL='debug'\nSTREAMER_JWT_LEEWAY=9\n", f);
	fclose(f);
	clean_env();
	setenv("STREAMER_CONFIG", path, 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(c.jwt_leeway, 9); /* the last line wins */
	CHECK_STR(c.jwt_issuer, "https://id.example");
	CHECK_INT(c.log_level, LOG_DEBUG);
	config_free(&c);
	setenv("STREAMER_JWT_LEEWAY", "3", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(c.jwt_leeway, 3); /* the environment wins */
	config_free(&c);
	unlink(path);
}

/* The async request settings: defaults, lists, and refusals naming the variable. */
static void test_jobs_settings(void)
{
	static const char *const bad[][2] = {
		{ "STREAMER_PLUGINS", "relative.so" }, { "STREAMER_PLUGINS", "/a.so, b.so" },
		{ "STREAMER_EXEC_ACTIONS", "noequals" }, { "STREAMER_EXEC_ACTIONS", "=/bin/true" },
		{ "STREAMER_EXEC_ACTIONS", "a b=/bin/true" }, { "STREAMER_EXEC_ACTIONS", "a=bin/true" },
		{ "STREAMER_OUTPUT_DIR", "" }, { "STREAMER_OUTPUT_DIR", "reports" },
		{ "STREAMER_JOB_LEASE", "0" }, { "STREAMER_JOB_LEASE", "3601" },
		{ "STREAMER_JOB_MAX_ATTEMPTS", "0" }, { "STREAMER_JOB_MAX_ATTEMPTS", "101" },
		{ "STREAMER_JOB_TIMEOUT", "0" }, { "STREAMER_JOB_TIMEOUT", "86401" },
		{ "STREAMER_RESULT_TTL", "59" }, { "STREAMER_RESULT_TTL", "7d" },
	};
	struct config c;
	char err[256];
	size_t n;

	clean_env();
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK(c.plugins == NULL);
	CHECK(c.exec_actions == NULL);
	n = strlen(c.output_dir);
	CHECK(c.output_dir[0] == '/' && n > 21 && strcmp(c.output_dir + n - 21, "/lib/streamer/reports") == 0);
	CHECK_INT(c.job_lease, 60);
	CHECK_INT(c.job_max_attempts, 3);
	CHECK_INT(c.job_timeout, 900);
	CHECK_INT(c.result_ttl, 7 * 86400);
	config_free(&c);

	setenv("STREAMER_PLUGINS", " /opt/a.so , /opt/b.so,", 1);
	setenv("STREAMER_EXEC_ACTIONS", "resize=/usr/bin/resize-img, ml.score=/opt/score", 1);
	setenv("STREAMER_OUTPUT_DIR", "/srv/reports", 1);
	setenv("STREAMER_JOB_LEASE", "5", 1);
	setenv("STREAMER_RESULT_TTL", "31536000", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_STR(c.plugins[0], "/opt/a.so");
	CHECK_STR(c.plugins[1], "/opt/b.so");
	CHECK(c.plugins[2] == NULL);
	CHECK_STR(c.exec_actions[0], "resize=/usr/bin/resize-img");
	CHECK_STR(c.exec_actions[1], "ml.score=/opt/score");
	CHECK(c.exec_actions[2] == NULL);
	CHECK_STR(c.output_dir, "/srv/reports");
	CHECK_INT(c.job_lease, 5);
	CHECK_INT(c.result_ttl, 31536000);
	config_free(&c);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clean_env();
		setenv(bad[i][0], bad[i][1], 1);
		CHECK_INT(config_load(&c, 0, err, sizeof(err)), -1);
		if (strncmp(err, bad[i][0], strlen(bad[i][0])) != 0) {
			printf("# %s=%s: message does not name it: %s\n", bad[i][0], bad[i][1], err);
			CHECK(0);
		}
	}
}

/* Secrets leave the environment (children never inherit them) but later loads still see them. */
static void test_secrets_leave_the_environment(void)
{
	struct config c;
	char err[256];

	clean_env();
	setenv("STREAMER_GRIP_KEY", "grip-k1", 1);
	setenv("STREAMER_METRICS_TOKEN", "metrics-t1", 1);
	setenv("STREAMER_AWS_REGION", "eu-west-1", 1);
	setenv("STREAMER_AWS_ACCESS_KEY_ID", "AKID1", 1);
	setenv("STREAMER_AWS_SECRET_ACCESS_KEY", "aws-s1", 1);
	setenv("STREAMER_AWS_SESSION_TOKEN", "aws-t1", 1);
	setenv("STREAMER_CALLBACK_URL", "http://u:p@127.0.0.1:5561/publish/", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	CHECK_STR(c.grip_key, "grip-k1");
	CHECK_STR(c.aws_secret_access_key, "aws-s1");
	config_free(&c);
	for (const char *const *n = (const char *const[]){ "STREAMER_GRIP_KEY", "STREAMER_METRICS_TOKEN",
			"STREAMER_AWS_ACCESS_KEY_ID", "STREAMER_AWS_SECRET_ACCESS_KEY",
			"STREAMER_AWS_SESSION_TOKEN", "STREAMER_CALLBACK_URL", NULL }; *n; n++) {
		if (getenv(*n))
			printf("# %s is still in the environment\n", *n);
		CHECK(getenv(*n) == NULL);
	}
	CHECK_STR(getenv("STREAMER_AWS_REGION"), "eu-west-1"); /* not a secret */
	/* A second load in the same process (a processor slot) sees the same values. */
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_STR(c.grip_key, "grip-k1");
	CHECK_STR(c.metrics_token, "metrics-t1");
	CHECK_STR(c.aws_access_key_id, "AKID1");
	CHECK_STR(c.aws_session_token, "aws-t1");
	CHECK_STR(c.callback_url, "http://u:p@127.0.0.1:5561/publish/");
	config_free(&c);
	/* A new value in the environment wins over the kept one. */
	setenv("STREAMER_GRIP_KEY", "grip-k2", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_STR(c.grip_key, "grip-k2");
	CHECK(getenv("STREAMER_GRIP_KEY") == NULL);
	config_free(&c);
}

/* STREAMER_DB_GROUP: a number or a group name, resolved at load; unknown names are refused. */
static void test_db_group(void)
{
	struct config c;
	char err[256];

	clean_env();
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(c.db_gid, -1);
	config_free(&c);
	setenv("STREAMER_DB_GROUP", "0", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(c.db_gid, 0);
	config_free(&c);
	setenv("STREAMER_DB_GROUP", "root", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_INT(c.db_gid, 0);
	config_free(&c);
	setenv("STREAMER_DB_GROUP", "no-such-group-xyz", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), -1);
	CHECK(strstr(err, "STREAMER_DB_GROUP") != NULL);
}

static void test_report_settings(void)
{
	struct config c;
	char err[256];

	clean_env();
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK_STR(c.report_permission, "reports");
	CHECK_INT(c.report_quota_bytes, 1073741824);
	config_free(&c);
	setenv("STREAMER_REPORT_PERMISSION", "", 1);
	setenv("STREAMER_REPORT_QUOTA_BYTES", "0", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), 0);
	CHECK(c.report_permission == NULL); /* empty: no permission needed */
	CHECK_INT(c.report_quota_bytes, 0);
	config_free(&c);
	setenv("STREAMER_REPORT_PERMISSION", "bad perm!", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), -1);
	CHECK(strstr(err, "STREAMER_REPORT_PERMISSION") != NULL);
	unsetenv("STREAMER_REPORT_PERMISSION");
	setenv("STREAMER_REPORT_QUOTA_BYTES", "-1", 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), -1);
	CHECK(strstr(err, "STREAMER_REPORT_QUOTA_BYTES") != NULL);
	unsetenv("STREAMER_REPORT_QUOTA_BYTES");
}

/* STREAMER_CALLBACK_URL: a comma-separated list of Pushpin nodes; apigw takes one URL. */
static void test_callback_list(void)
{
	static const struct {
		const char *url, *style, *says; /* says NULL: accepted */
	} cases[] = {
		{ "http://a:5561/publish/", "pushpin", NULL },
		{ "http://a:5561/publish/,http://b:5561/publish/", "pushpin", NULL },
		{ " http://a:5561/publish/ , https://b/publish/ ", "pushpin", NULL },
		{ "http://a/,", "pushpin", "URL number 2 of the list is empty" },
		{ ",http://a/", "pushpin", "URL number 1 of the list is empty" },
		{ "http://a/,ftp://b/", "pushpin", "expected an http:// or https:// URL" },
		{ "http://a/, http://a/", "pushpin", "URL number 2 repeats number 1" },
		{ "https://x.execute-api/prod", "apigw", NULL },
		{ "https://x/prod,https://y/prod", "apigw", "the apigw style takes exactly one URL" },
	};
	struct config c;
	char err[256];
	struct buf many = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		clean_env();
		setenv("STREAMER_CALLBACK_URL", cases[i].url, 1);
		setenv("STREAMER_CALLBACK_STYLE", cases[i].style, 1);
		rc = config_load(&c, 0, err, sizeof(err));
		if (!cases[i].says) {
			CHECK_INT(rc, 0);
			if (rc == 0)
				config_free(&c);
		} else if (rc != -1 || !strstr(err, cases[i].says) || !strstr(err, "STREAMER_CALLBACK_URL")) {
			printf("# '%s': expected an error saying '%s', got %d '%s'\n", cases[i].url,
			       cases[i].says, rc, rc ? err : "");
			CHECK(0);
		}
	}
	for (int i = 0; i <= CALLBACK_URLS_MAX; i++)
		buf_printf(&many, "%shttp://n%d/publish/", i ? "," : "", i);
	clean_env();
	setenv("STREAMER_CALLBACK_URL", many.data, 1);
	CHECK_INT(config_load(&c, 0, err, sizeof(err)), -1);
	CHECK(strstr(err, "at most 32 URLs") != NULL);
	buf_free(&many);
	unsetenv("STREAMER_CALLBACK_STYLE");
}

TAP_MAIN(TAP_TEST(test_defaults), TAP_TEST(test_callback_list), TAP_TEST(test_key_required), TAP_TEST(test_tenant_list),
	 TAP_TEST(test_bad_values), TAP_TEST(test_file), TAP_TEST(test_jobs_settings),
	 TAP_TEST(test_report_settings), TAP_TEST(test_secrets_leave_the_environment),
	 TAP_TEST(test_db_group))
