/* test_plugin.c - unit tests for plugin loading: the example wordcount plugin end to end, every way a plugin is refused, and plugins in the action registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "config.h"
#include "plugin.h"
#include "tap.h"
#include "test_ctx.h"
#include "util.h"

/* The absolute path of a shared object built under the build tree (static buffer per call slot). */
static char *built(const char *rel)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];
	const char *top = getenv("top_builddir");
	char cwd[256];

	if (!top || !*top)
		top = getcwd(cwd, sizeof cwd);
	CHECK(top != NULL);
	snprintf(p, 512, "%s/%s", top, rel);
	CHECK(access(p, R_OK) == 0);
	return p;
}

#define WORDCOUNT built("examples/plugin/wordcount.so")
#define FIXTURE(name) built("tests/unit/plugins/" name ".so")

/* Loads the NULL-terminated paths and expects a refusal whose message contains each of want. */
static void refused(char **paths, const char *want1, const char *want2)
{
	struct plugin_set *ps = (struct plugin_set *)1;
	char err[1024] = "";

	CHECK_INT(plugin_set_load(&ps, paths, NULL, NULL, err, sizeof err), -1);
	CHECK(ps == NULL);
	if (strncmp(err, "STREAMER_PLUGINS: ", 18) != 0 || !strstr(err, want1) ||
	    (want2 && !strstr(err, want2))) {
		printf("# got '%s'\n# expected '%s' and '%s'\n", err, want1, want2 ? want2 : "");
		CHECK(0);
	}
}

static json_t *run(const struct streamer_handler *h, struct tctx *t, const char *payload,
		   struct streamer_error *err, int expect)
{
	json_t *p = json_loads(payload, JSON_DECODE_ANY, NULL), *r = NULL;

	CHECK(p != NULL);
	memset(err, 0, sizeof *err);
	t->ctx.handler = h;
	t->ctx.action = h->name;
	if (expect == 0 && h->validate)
		CHECK_INT(h->validate(p, err), 0);
	CHECK_INT(h->run(&t->ctx, p, &r, err), expect);
	json_decref(p);
	return r;
}

/* ---- the example plugin -------------------------------------------------------------- */

static void test_wordcount_loads(void)
{
	char *paths[] = { WORDCOUNT, NULL };
	struct plugin_set *ps;
	const struct streamer_handler *h;
	char err[512];

	CHECK_INT(plugin_set_load(&ps, paths, NULL, NULL, err, sizeof err), 0);
	h = plugin_set_find(ps, "wordcount");
	CHECK(h != NULL);
	CHECK_STR(h->name, "wordcount");
	CHECK(h->flags & STREAMER_HANDLER_ASYNC);
	CHECK(h->permission == NULL);
	CHECK(h->validate != NULL);
	CHECK(plugin_set_find(ps, "nope") == NULL);
	CHECK(plugin_set_find(ps, NULL) == NULL);
	plugin_set_free(ps);
}

static void test_wordcount_runs(void)
{
	char *paths[] = { WORDCOUNT, NULL };
	struct plugin_set *ps;
	const struct streamer_handler *h;
	struct streamer_error err;
	struct tctx t;
	struct buf text = { 0 };
	json_t *r, *p;
	char e[512];

	CHECK_INT(plugin_set_load(&ps, paths, NULL, NULL, e, sizeof e), 0);
	h = plugin_set_find(ps, "wordcount");

	tctx_init(&t, "wordcount");
	r = run(h, &t, "{\"text\":\"To be, or not to be:\\nthat is the question.\\n\",\"top\":3}", &err, 0);
	check_json(r, "{\"words\":10,\"unique\":8,\"lines\":2,\"characters\":43,"
		      "\"top\":[{\"word\":\"be\",\"count\":2},{\"word\":\"to\",\"count\":2},{\"word\":\"is\",\"count\":1}]}");
	json_decref(r);

	/* UTF-8 words and characters; min_length */
	tctx_init(&t, "wordcount");
	r = run(h, &t, "{\"text\":\"Grüße grüße ok a\",\"min_length\":2}", &err, 0);
	/* ASCII letters fold to lower case, the rest stays: "Grüße" and "grüße" are one word */
	check_json(r, "{\"words\":3,\"unique\":2,\"lines\":1,\"characters\":16,"
		      "\"top\":[{\"word\":\"grüße\",\"count\":2},{\"word\":\"ok\",\"count\":1}]}");
	json_decref(r);

	/* a long text: progress as it goes, in order, below 100 */
	for (int i = 0; i < 20000; i++)
		buf_printf(&text, "word%d common ", i % 100);
	p = json_pack("{s:s,s:i}", "text", text.data, "top", 1);
	tctx_init(&t, "wordcount");
	t.ctx.handler = h;
	memset(&err, 0, sizeof err);
	CHECK_INT(h->validate(p, &err), 0);
	CHECK_INT(h->run(&t.ctx, p, &r, &err), 0);
	check_json(r, "{\"words\":40000,\"unique\":101,\"lines\":1,\"characters\":" "278000"
		      ",\"top\":[{\"word\":\"common\",\"count\":20000}]}");
	CHECK(t.calls >= 5);
	for (int i = 1; i < t.calls; i++)
		CHECK(t.pct[i] >= t.pct[i - 1] && t.pct[i] < 100);
	json_decref(r);

	/* and it stops when told */
	tctx_init(&t, "wordcount");
	t.ctx.handler = h;
	t.stop_at = 2;
	r = NULL;
	CHECK_INT(h->run(&t.ctx, p, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK(r == NULL);
	CHECK_INT(t.calls, 2);
	json_decref(p);
	buf_free(&text);
	plugin_set_free(ps);
}

static void test_wordcount_invalid(void)
{
	static const char *const bad[][2] = {
		{ "[]", "payload" },
		{ "\"text\"", "payload" },
		{ "{}", "text" },
		{ "{\"text\":5}", "text" },
		{ "{\"text\":null}", "text" },
		{ "{\"text\":\"a\",\"top\":0}", "top" },
		{ "{\"text\":\"a\",\"top\":101}", "top" },
		{ "{\"text\":\"a\",\"top\":\"3\"}", "top" },
		{ "{\"text\":\"a\",\"min_length\":0}", "min_length" },
		{ "{\"text\":\"a\",\"lang\":\"en\"}", "lang" },
	};
	char *paths[] = { WORDCOUNT, NULL };
	struct plugin_set *ps;
	const struct streamer_handler *h;
	char e[512];

	CHECK_INT(plugin_set_load(&ps, paths, NULL, NULL, e, sizeof e), 0);
	h = plugin_set_find(ps, "wordcount");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *p = json_loads(bad[i][0], JSON_DECODE_ANY, NULL);
		struct streamer_error err;

		memset(&err, 0, sizeof err);
		CHECK_INT(h->validate(p, &err), -1);
		CHECK_STR(err.code, STREAMER_E_VALIDATION);
		CHECK_STR(err.field, bad[i][1]);
		json_decref(p);
	}
	plugin_set_free(ps);
}

/* ---- several plugins, init and fini --------------------------------------------------------- */

static void test_two_plugins(void)
{
	char fini[] = "/tmp/streamer-test-fini-XXXXXX";
	char *paths[] = { WORDCOUNT, FIXTURE("two_actions"), NULL };
	struct plugin_set *ps;
	const struct streamer_handler *h;
	struct streamer_error err;
	struct tctx t;
	json_t *r;
	char e[512], *text;
	size_t len;
	int fd = mkstemp(fini);

	CHECK(fd >= 0);
	close(fd);
	setenv("FIXTURE_FINI_FILE", fini, 1);
	CHECK_INT(plugin_set_load(&ps, paths, NULL, NULL, e, sizeof e), 0);
	CHECK(plugin_set_find(ps, "wordcount") != NULL);
	CHECK(plugin_set_find(ps, "fx.upper") != NULL);
	h = plugin_set_find(ps, "fx.fail");
	CHECK(h != NULL);
	CHECK_INT(h->flags, 0);
	CHECK_STR(h->permission, "admin");
	tctx_init(&t, "fx.fail");
	r = run(h, &t, "{}", &err, -1);
	CHECK_STR(err.message, "always fails");

	h = plugin_set_find(ps, "fx.upper");
	tctx_init(&t, "fx.upper");
	r = run(h, &t, "{\"s\":\"shout\"}", &err, 0);
	/* init ran before any handler */
	check_json(r, "{\"s\":\"SHOUT\",\"inited\":true,\"tenant\":\"acme\"}");
	CHECK_INT(t.calls, 1);
	CHECK_INT(t.pct[0], 50);
	json_decref(r);

	text = file_read(fini, 1024, &len);
	CHECK_STR(text, "");
	free(text);
	plugin_set_free(ps);
	text = file_read(fini, 1024, &len);
	CHECK_STR(text, "fini\n"); /* once, at unload */
	free(text);
	unlink(fini);
}

static void test_empty(void)
{
	char *none[] = { NULL };
	struct plugin_set *ps;
	char e[64];

	CHECK_INT(plugin_set_load(&ps, NULL, NULL, NULL, e, sizeof e), 0);
	CHECK(ps != NULL);
	CHECK(plugin_set_find(ps, "wordcount") == NULL);
	plugin_set_free(ps);
	CHECK_INT(plugin_set_load(&ps, none, NULL, NULL, e, sizeof e), 0);
	CHECK(ps != NULL);
	CHECK(plugin_set_find(ps, "wordcount") == NULL);
	plugin_set_free(ps);
	plugin_set_free(NULL);
	CHECK(plugin_set_find(NULL, "x") == NULL);
}

/* ---- refusals ------------------------------------------------------------------------------------ */

static void test_refused_files(void)
{
	char text_file[] = "/tmp/streamer-test-notso-XXXXXX";
	int fd = mkstemp(text_file);
	char rel[] = "wordcount.so", missing[] = "/nonexistent/plugin.so";

	CHECK(fd >= 0);
	CHECK(write(fd, "not an ELF file\n", 16) == 16);
	close(fd);
	{
		char *p1[] = { missing, NULL }, *p2[] = { text_file, NULL }, *p3[] = { rel, NULL };

		refused(p1, "/nonexistent/plugin.so: cannot load: ", "No such file");
		refused(p2, text_file, "cannot load");
		refused(p3, "wordcount.so: not an absolute path", NULL);
	}
	unlink(text_file);
}

static void test_refused_plugins(void)
{
	char *p;

	{
		char *paths[] = { p = FIXTURE("bad_abi"), NULL };

		refused(paths, p, "built for handler ABI version 2, this streamer needs version 1");
	}
	{
		char *paths[] = { p = FIXTURE("no_symbol"), NULL };

		refused(paths, p, "not a streamer plugin (no symbol 'streamer_plugin')");
	}
	{
		char *paths[] = { p = FIXTURE("no_handlers"), NULL };

		refused(paths, p, "the plugin defines no handlers");
	}
	{
		char *paths[] = { p = FIXTURE("bad_name"), NULL };

		refused(paths, p, "invalid action name 'bad name!'");
	}
	{
		char *paths[] = { p = FIXTURE("bad_flags"), NULL };

		refused(paths, p, "action 'fx.fail' sets unknown flags 0x80");
	}
	{
		char *paths[] = { p = FIXTURE("no_run"), NULL };

		refused(paths, p, "action 'fx.fail' has no run function");
	}
	{
		char *paths[] = { p = FIXTURE("dup_inside"), NULL };

		refused(paths, p, "defines action 'fx.upper' twice");
	}
	{
		char *paths[] = { p = FIXTURE("init_fails"), NULL };

		refused(paths, p, "init failed: the licence file is missing");
	}
}

static void test_refused_clashes(void)
{
	char fini[] = "/tmp/streamer-test-fini-XXXXXX";
	char *w = WORDCOUNT, *c = FIXTURE("clash"), *two = FIXTURE("two_actions");
	char err[1024], *text;
	struct plugin_set *ps;
	size_t len;
	int fd = mkstemp(fini);

	CHECK(fd >= 0);
	close(fd);
	setenv("FIXTURE_FINI_FILE", fini, 1);
	{
		char *paths[] = { w, c, NULL };
		char want[600];

		snprintf(want, sizeof want, "%s: action 'wordcount' is already defined by %s", c, w);
		refused(paths, want, NULL);
	}
	{
		char *paths[] = { w, w, NULL };

		refused(paths, "wordcount.so: listed twice", NULL);
	}
	{
		/* the first loaded fine (init ran); the failure of the second unloads it again (fini) */
		char *paths[] = { two, FIXTURE("bad_abi"), NULL };

		refused(paths, "bad_abi.so", "ABI");
		text = file_read(fini, 1024, &len);
		CHECK_STR(text, "fini\n");
		free(text);
	}
	{
		/* the caller's own actions (the built-ins) */
		char *paths[] = { two, NULL };

		CHECK_INT(plugin_set_load(&ps, paths, NULL, NULL, err, sizeof err), 0);
		plugin_set_free(ps);
	}
	unlink(fini);
}

static const char *builtin(void *arg, const char *name)
{
	CHECK_STR(arg, "ctx");
	return strcmp(name, "fx.upper") == 0 ? "a built-in action" : NULL;
}

static void test_refused_builtin_names(void)
{
	char *two = FIXTURE("two_actions"), *w = WORDCOUNT;
	char *paths[] = { w, two, NULL };
	struct plugin_set *ps = (struct plugin_set *)1;
	char err[1024];

	CHECK_INT(plugin_set_load(&ps, paths, builtin, "ctx", err, sizeof err), -1);
	CHECK(ps == NULL);
	CHECK(strstr(err, two) != NULL);
	CHECK(strstr(err, "action 'fx.upper' is already a built-in action") != NULL);
}

/* The registry finds a plugin's action as one, and an exec action may not take its name. */
static void test_registry(void)
{
	char *paths[] = { WORDCOUNT, NULL }, spec[] = "wordcount=/bin/true", *specs[] = { spec, NULL };
	struct config cfg = { 0 };
	struct action a;
	char err[512];

	cfg.plugins = paths;
	CHECK_INT(actions_load(&cfg, err, sizeof err), 0);
	CHECK_INT(actions_find("wordcount", &a), 1);
	CHECK_INT(a.kind, ACTION_PLUGIN);
	CHECK(a.fn == NULL && a.permission == NULL);
	CHECK(a.handler == actions_handler("wordcount"));
	CHECK_STR(a.handler->name, "wordcount");
	cfg.exec_actions = specs;
	CHECK_INT(actions_load(&cfg, err, sizeof err), -1);
	CHECK_STR(err, "STREAMER_EXEC_ACTIONS: action 'wordcount' is already a plugin of STREAMER_PLUGINS");
	CHECK_INT(actions_find("wordcount", NULL), 0); /* a refused load leaves nothing loaded */
	actions_free();
}

TAP_MAIN(
	TAP_TEST(test_wordcount_loads),
	TAP_TEST(test_wordcount_runs),
	TAP_TEST(test_wordcount_invalid),
	TAP_TEST(test_two_plugins),
	TAP_TEST(test_empty),
	TAP_TEST(test_refused_files),
	TAP_TEST(test_refused_plugins),
	TAP_TEST(test_refused_clashes),
	TAP_TEST(test_refused_builtin_names),
	TAP_TEST(test_registry)
)
