/* test_fuzz_cases.c - the fuzz seeds in tests/cases/{proto,auth,grip} have the outcomes their expected files name. */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "protocol.h"
#include "util.h"
#include "../fuzz/fuzz.h"

/*
 * Each case is tests/cases/<kind>/<name>/{input,expected}: expected holds one
 * line, the outcome of input under the fuzz targets' settings (fuzz.h).
 * valid-* cases are accepted, bad-* ones refused, and the refused outnumber
 * the accepted in each kind. TAP output, the plan last.
 */

static struct auth_key *auth_key;

/* "ok" or "CODE: message", as proto_parse answers. */
static char *proto_outcome(const char *in, size_t len)
{
	struct client_msg msg;
	struct proto_error err = { 0 };
	struct buf out = { 0 };

	if (proto_parse(in, len, FUZZ_MAX_MESSAGE, &msg, &err) == 0)
		buf_puts(&out, "ok");
	else
		buf_printf(&out, "%s: %s", err_code_name(err.code), err.message);
	client_msg_free(&msg);
	proto_error_clear(&err);
	return buf_detach(&out);
}

/* auth_verify's label ("ok", "expired", …) with the HS256 test key, no issuer or audience. */
static char *auth_outcome(const char *in, size_t len)
{
	struct auth_policy p = {
		.alg = AUTH_HS256, .key = auth_key, .leeway = FUZZ_LEEWAY, .now = FUZZ_NOW,
	};
	struct auth_identity id;
	enum auth_error e = auth_verify(&p, in, len, &id);

	auth_identity_free(&id);
	return xstrdup(auth_error_label(e));
}

/* "valid" or "invalid", as auth_grip_verify judges the header value. */
static char *grip_outcome(const char *in, size_t len)
{
	return xstrdup(auth_grip_verify(FUZZ_GRIP_KEY, in, FUZZ_NOW) ? "valid" : "invalid");
}

static const struct {
	const char *kind;
	const char *accepted; /* the outcome of valid-* cases */
	char *(*outcome)(const char *in, size_t len);
} kinds[] = {
	{ "proto", "ok", proto_outcome },
	{ "auth", "ok", auth_outcome },
	{ "grip", "valid", grip_outcome },
};

/* Runs one case; prints its TAP line (number n) and returns whether it passed. */
static bool run_case(size_t k, const char *input_path, const char *name, size_t n, bool *valid)
{
	struct buf path = { 0 };
	size_t inlen, explen;
	char *input = file_read(input_path, 1 << 20, &inlen), *expected, *got = NULL;
	bool ok = false;

	buf_printf(&path, "%.*s/expected", (int)(strlen(input_path) - strlen("/input")), input_path);
	expected = file_read(path.data, 4096, &explen);
	*valid = strncmp(name, "valid-", 6) == 0 || strcmp(name, "valid") == 0;
	if (!input || !expected) {
		printf("# %s: cannot read its input or expected file\n", name);
		goto out;
	}
	while (explen > 0 && expected[explen - 1] == '\n')
		expected[--explen] = '\0';
	got = kinds[k].outcome(input, inlen);
	ok = strcmp(got, expected) == 0;
	if (!ok)
		printf("# %s/%s: got \"%s\", expected \"%s\"\n", kinds[k].kind, name, got, expected);
	/* The name says which kind a case is, so that the count in main means something. */
	if (*valid != (strcmp(expected, kinds[k].accepted) == 0)) {
		printf("# %s/%s: a valid-* case must expect \"%s\", a bad-* case anything else\n",
		       kinds[k].kind, name, kinds[k].accepted);
		ok = false;
	}
out:
	printf("%s %zu - %s/%s\n", ok ? "ok" : "not ok", n, kinds[k].kind, name);
	free(got);
	free(expected);
	free(input);
	buf_free(&path);
	return ok;
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char err[256];
	size_t n = 0;
	int failed = 0;

	if (auth_key_load(&auth_key, AUTH_HS256, FUZZ_AUTH_SECRET, strlen(FUZZ_AUTH_SECRET), err,
			  sizeof(err)) < 0) {
		printf("Bail out! test key: %s\n", err);
		return 1;
	}
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct buf pattern = { 0 };
		glob_t g = { 0 };
		size_t nvalid = 0, nbad = 0;
		bool ok;

		buf_printf(&pattern, "%s/tests/cases/%s/*/input", top && *top ? top : ".", kinds[k].kind);
		if (glob(pattern.data, 0, NULL, &g) != 0)
			g.gl_pathc = 0;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *dir = xstrndup(g.gl_pathv[i], strlen(g.gl_pathv[i]) - strlen("/input"));
			const char *name = strrchr(dir, '/') + 1;
			bool valid;

			failed += !run_case(k, g.gl_pathv[i], name, ++n, &valid);
			*(valid ? &nvalid : &nbad) += 1;
			free(dir);
		}
		ok = nvalid > 0 && nbad > nvalid;
		if (!ok)
			printf("# %s: %zu valid and %zu bad cases\n", pattern.data, nvalid, nbad);
		failed += !ok;
		printf("%s %zu - %s: cases found, more bad than valid\n", ok ? "ok" : "not ok", ++n,
		       kinds[k].kind);
		if (g.gl_pathc)
			globfree(&g);
		buf_free(&pattern);
	}
	printf("1..%zu\n", n);
	auth_key_free(auth_key);
	return failed ? 1 : 0;
}
