/* test_config.c - unit tests for config_load: defaults, validation, the KEY=VALUE file, tenant lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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
		{ "STREAMER_LOG_LEVEL", "INFO" }, { "STREAMER_DB", "" },
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

TAP_MAIN(TAP_TEST(test_defaults), TAP_TEST(test_key_required), TAP_TEST(test_tenant_list),
	 TAP_TEST(test_bad_values), TAP_TEST(test_file))
