/* test_config_vars.c - the configuration table: config_load enforces its bounds and secret flags, --help renders it, docs/configuration.md agrees with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"
#include "util.h"

static void clean_env(void)
{
	for (const struct config_var *v = config_vars; v->name; v++)
		unsetenv(v->name);
	setenv("STREAMER_DB", "/tmp/x.db", 1);
	/* The smallest message lets STREAMER_MAX_BODY_BYTES take its table min. */
	setenv("STREAMER_MAX_MESSAGE_BYTES", "64", 1);
}

/* config_load with name=value on top of clean_env: 0 when accepted; a refusal must name the variable. */
static int load_with(const char *name, long long value)
{
	struct config c;
	char err[256], text[32];
	int rc;

	clean_env();
	snprintf(text, sizeof text, "%lld", value);
	setenv(name, text, 1);
	rc = config_load(&c, 0, err, sizeof err);
	if (rc == 0) {
		config_free(&c);
		return 0;
	}
	if (strncmp(err, name, strlen(name)) != 0) {
		printf("# %s=%s: the refusal does not name it: %s\n", name, text, err);
		CHECK(0);
	}
	return -1;
}

/* Accepts exactly what the table's bounds say: the edges in, one past them out. */
static void expect_bounds(const struct config_var *v)
{
	char def[32];

	snprintf(def, sizeof def, "%lld", strtoll(v->def, NULL, 10));
	if (strcmp(def, v->def) != 0 || v->min > v->max) {
		printf("# %s: default '%s' is not an integer, or min > max\n", v->name, v->def);
		CHECK(0);
	}
	CHECK(strtoll(v->def, NULL, 10) == 0 ? v->zero != NULL || v->min == 0
					     : strtoll(v->def, NULL, 10) >= v->min);
	CHECK(strtoll(v->def, NULL, 10) <= v->max);
	if (load_with(v->name, v->min) != 0 || load_with(v->name, v->max) != 0 ||
	    load_with(v->name, v->max + 1) != -1 ||
	    load_with(v->name, v->min - 1) != (v->zero && v->min == 1 ? 0 : -1) ||
	    (v->zero && load_with(v->name, 0) != 0)) {
		printf("# %s: config_load does not take exactly %lld-%lld%s\n", v->name, v->min, v->max,
		       v->zero ? " and 0" : "");
		CHECK(0);
	}
}

static void test_int_bounds_are_the_tables(void)
{
	int ints = 0;

	for (const struct config_var *v = config_vars; v->name; v++)
		if (v->kind == CONFIG_INT) {
			expect_bounds(v);
			ints++;
		}
	CHECK(ints > 10);
}

/* Exactly the entries flagged CONFIG_SECRET leave the environment. */
static void test_secret_flags(void)
{
	struct config c;
	char err[256];
	int secrets = 0;

	for (const struct config_var *v = config_vars; v->name; v++) {
		clean_env();
		setenv(v->name, strcmp(v->name, "STREAMER_DB") == 0 ? "/tmp/x.db" : "", 1);
		if (config_load(&c, 0, err, sizeof err) == 0)
			config_free(&c);
		if ((getenv(v->name) == NULL) != ((v->flags & CONFIG_SECRET) != 0)) {
			printf("# %s: in the environment after config_load: %s\n", v->name,
			       getenv(v->name) ? "yes" : "no");
			CHECK(0);
		}
		secrets += (v->flags & CONFIG_SECRET) != 0;
	}
	CHECK(secrets >= 7);
}

static void test_bounds_rendering(void)
{
	char b[96];

	CHECK_STR(config_var_bounds(config_var_find("STREAMER_JOB_LEASE"), b, sizeof b), "(1-3600)");
	CHECK_STR(config_var_bounds(config_var_find("STREAMER_KEEPALIVE_INTERVAL"), b, sizeof b),
		  "(0 = off, or 20-3600)");
	CHECK_STR(config_var_bounds(config_var_find("STREAMER_RATE_LIMIT"), b, sizeof b),
		  "(0 = off, up to 1000000)");
	CHECK_STR(config_var_bounds(config_var_find("STREAMER_MAX_BODY_BYTES"), b, sizeof b),
		  "(>= message size + 64)");
	CHECK_STR(config_var_bounds(config_var_find("STREAMER_LOG_LEVEL"), b, sizeof b), "");
	CHECK(config_var_find("STREAMER_NOT_A_THING") == NULL);
	CHECK_INT(config_vars[config_var_count].name == NULL, 1);
}

/* streamer-fcgi --help: one line a variable, bounds after the help, the default last. */
static void test_usage_lines(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int lines = 0;

	config_usage(f);
	fclose(f);
	CHECK(strstr(text, "\n  STREAMER_JOB_LEASE           seconds a processor holds a request without "
			   "renewing its lease (1-3600) [60]\n") != NULL);
	CHECK(strstr(text, "\n  STREAMER_JWT_ISSUER          required iss claim; empty = not checked\n") != NULL);
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	CHECK_INT(lines, config_var_count);
	free(text);
}

/* The processor's --help paragraph: its settings from the table, wrapped at 72 columns. */
static void test_usage_names(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	config_usage_names(f, CONFIG_PROCESSOR, "Settings: ", " and more.");
	fclose(f);
	CHECK_STR(text, "Settings: STREAMER_JOB_LEASE, STREAMER_JOB_MAX_ATTEMPTS,\n"
			"STREAMER_JOB_TIMEOUT, STREAMER_RESULT_TTL and more.\n");
	free(text);
}

/* The cell after name's in docs/configuration.md's table row, up to the next " | ". */
static char *cell(const char *row, int n)
{
	const char *p = row + 2, *end;

	for (; n > 0; n--) {
		p = strstr(p, " | ");
		CHECK(p != NULL);
		p += 3;
	}
	end = strstr(p, " | ");
	if (!end)
		end = p + strlen(p) - 2; /* the row's closing " |" */
	return xstrndup(p, (size_t)(end - p));
}

/*
 * What the table's default column must say for v: "(empty)", or the default
 * in code style. A built-in path depends on configure's localstatedir: the doc
 * gives it as "`/usr/local/var/...` (`$localstatedir/...`)", so only the
 * part in parentheses must be there (*exact = 0).
 */
static char *doc_default(const struct config_var *v, int *exact)
{
	size_t n = strlen(STREAMER_LOCALSTATEDIR);
	struct buf b = {0};

	*exact = 1;
	if (!*v->def) {
		buf_puts(&b, "(empty)");
	} else if (strncmp(v->def, STREAMER_LOCALSTATEDIR "/", n + 1) == 0) {
		buf_printf(&b, "(`$localstatedir%s`)", v->def + n);
		*exact = 0;
	} else {
		buf_printf(&b, "`%s`", v->def);
	}
	return buf_detach(&b);
}

/*
 * docs/configuration.md's table (its "## Variables" section) lists exactly
 * config_vars' variables, each once, with its default, and the meaning of an
 * integer shows its bounds.
 */
static void test_doc_agrees(void)
{
	const char *top = getenv("top_srcdir");
	char *path = xstrcat2(top && *top ? top : "..", "/docs/configuration.md");
	size_t len, seen = 0;
	char *text = file_read(path, 1 << 22, &len);
	char *section, *save = NULL;
	int *listed = xcalloc(config_var_count, sizeof(*listed)), bad = 0;

	if (!text)
		printf("# cannot read %s (set top_srcdir)\n", path);
	CHECK(text != NULL);
	section = strstr(text, "\n## Variables\n");
	CHECK(section != NULL);
	if (strstr(section + 1, "\n## "))
		strstr(section + 1, "\n## ")[1] = '\0';
	for (char *row = strtok_r(section, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
		char *name, *def, *meaning, *want, bounds[96];
		const struct config_var *v;
		int exact;

		if (strncmp(row, "| `STREAMER_", 12) != 0)
			continue;
		name = cell(row, 0);
		def = cell(row, 1);
		meaning = cell(row, 2);
		name[strlen(name) - 1] = '\0';
		v = config_var_find(name + 1);
		if (!v) {
			printf("# docs/configuration.md lists %s, which config_vars does not have\n", name + 1);
			bad = 1;
		} else if (listed[v - config_vars]++) {
			printf("# docs/configuration.md lists %s twice\n", v->name);
			bad = 1;
		} else {
			want = doc_default(v, &exact);
			if (exact ? strcmp(def, want) != 0 : !strstr(def, want)) {
				printf("# docs/configuration.md: the default of %s is '%s', config_vars says '%s'\n", v->name, def, want);
				bad = 1;
			}
			free(want);
			config_var_bounds(v, bounds, sizeof bounds);
			if (!strstr(meaning, bounds)) {
				printf("# docs/configuration.md: the meaning of %s does not show its bounds %s\n", v->name, bounds);
				bad = 1;
			}
			seen++;
		}
		free(name);
		free(def);
		free(meaning);
	}
	for (size_t i = 0; i < config_var_count; i++)
		if (!listed[i]) {
			printf("# docs/configuration.md's table does not list %s\n", config_vars[i].name);
			bad = 1;
		}
	CHECK_INT(bad, 0);
	CHECK_INT(seen, config_var_count);
	free(listed);
	free(text);
	free(path);
}

TAP_MAIN(TAP_TEST(test_int_bounds_are_the_tables), TAP_TEST(test_secret_flags),
	 TAP_TEST(test_bounds_rendering), TAP_TEST(test_usage_lines),
	 TAP_TEST(test_usage_names), TAP_TEST(test_doc_agrees))
