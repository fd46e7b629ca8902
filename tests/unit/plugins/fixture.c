/* fixture.c - test plugins for test_plugin: one source, one shared object per FIXTURE_<name> variant (good and broken). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamer/handler.h>

static int inited;

static int fx_init(char *err, size_t errlen)
{
#ifdef FIXTURE_init_fails
	snprintf(err, errlen, "the licence file is missing");
	return -1;
#else
	(void)err;
	(void)errlen;
	inited = 1;
	return 0;
#endif
}

/* Leaves a trace of fini in $FIXTURE_FINI_FILE, so a test can see it ran. */
static void fx_fini(void)
{
	const char *path = getenv("FIXTURE_FINI_FILE");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fputs("fini\n", f);
		fclose(f);
	}
}

/* {"s": string} -> the string in upper case, plus whether init ran. */
static int upper_validate(json_t *payload, struct streamer_error *err)
{
	if (!json_is_string(json_object_get(payload, "s")))
		return streamer_fail(err, STREAMER_E_VALIDATION, "s", "s: a string is required");
	return 0;
}

static int upper_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
		     struct streamer_error *err)
{
	char *s = strdup(json_string_value(json_object_get(payload, "s")));

	(void)err;
	for (char *p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	ctx->progress(ctx, 50, "half way", NULL);
	*result = json_pack("{s:s,s:b,s:s}", "s", s, "inited", inited, "tenant", ctx->tenant_id);
	free(s);
	return 0;
}

__attribute__((unused)) static int fail_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
		    struct streamer_error *err)
{
	(void)ctx;
	(void)payload;
	(void)result;
	return streamer_fail(err, STREAMER_E_FAILED, NULL, "always fails");
}

#if defined(FIXTURE_clash)
#define FIRST_NAME "wordcount"
#elif defined(FIXTURE_bad_name)
#define FIRST_NAME "bad name!"
#else
#define FIRST_NAME "fx.upper"
#endif

#if defined(FIXTURE_dup_inside)
#define SECOND_NAME "fx.upper"
#else
#define SECOND_NAME "fx.fail"
#endif

#if defined(FIXTURE_bad_flags)
#define SECOND_FLAGS 0x80u
#else
#define SECOND_FLAGS 0u
#endif

/* Not every variant uses every table. */
__attribute__((unused)) static const struct streamer_handler handlers[] = {
	{ .name = FIRST_NAME, .flags = STREAMER_HANDLER_ASYNC, .permission = NULL,
	  .validate = upper_validate, .run = upper_run },
#if defined(FIXTURE_no_run)
	{ .name = SECOND_NAME, .flags = SECOND_FLAGS, .permission = "admin", .run = NULL },
#else
	{ .name = SECOND_NAME, .flags = SECOND_FLAGS, .permission = "admin", .run = fail_run },
#endif
	{ .name = NULL },
};

__attribute__((unused)) static const struct streamer_handler none[] = { { .name = NULL } };

#if !defined(FIXTURE_no_symbol)
const struct streamer_plugin streamer_plugin = {
#if defined(FIXTURE_bad_abi)
	.abi_version = STREAMER_HANDLER_ABI_VERSION + 1,
#else
	.abi_version = STREAMER_HANDLER_ABI_VERSION,
#endif
	.name = "fixture",
	.version = "0",
#if defined(FIXTURE_no_handlers)
	.handlers = none,
#else
	.handlers = handlers,
#endif
	.init = fx_init,
	.fini = fx_fini,
};
#else
/* Looks like a plugin but exports the wrong name. */
const struct streamer_plugin streamer_plugin_v1 = {
	.abi_version = STREAMER_HANDLER_ABI_VERSION, .name = "fixture", .handlers = handlers,
	.init = fx_init, .fini = fx_fini,
};
#endif
