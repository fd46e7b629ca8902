/* wordcount.c - an example streamer plugin: the async action `wordcount` counts the words of a text, reporting progress as it goes. */
/*
 * Build (see Makefile.am, which builds it for `make check`):
 *   cc -std=c11 -shared -fPIC $(pkg-config --cflags jansson) -I<prefix>/include \
 *      -o wordcount.so wordcount.c $(pkg-config --libs jansson)
 * Load: STREAMER_PLUGINS=/path/to/wordcount.so
 * Use:  {"action":"wordcount","payload":{"text":"to be or not to be","top":2}}
 *   ->  {"words":6,"unique":4,"lines":1,"characters":18,
 *        "top":[{"word":"be","count":2},{"word":"to","count":2}]}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamer/handler.h>

#define MAX_TEXT (1 << 20) /* bytes */
#define MAX_TOP 100
#define MAX_WORD 256       /* longer words are cut to this many bytes */

/* A byte of a word: ASCII letters and digits, the apostrophe, and any byte of a multi-byte UTF-8 character. */
static int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '\'' || c >= 0x80;
}

static int int_param(json_t *payload, const char *key, int def, int min, int max, int *out,
		     struct streamer_error *err)
{
	json_t *v = json_object_get(payload, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return streamer_fail(err, STREAMER_E_VALIDATION, key,
				     "%s: expected an integer from %d to %d", key, min, max);
	*out = (int)json_integer_value(v);
	return 0;
}

/* The one definition of a valid payload: {"text": string, "top"?: 1-100, "min_length"?: 1-100}. */
static int wordcount_validate(json_t *payload, struct streamer_error *err)
{
	const char *key;
	json_t *v, *text;
	int n;

	if (!json_is_object(payload))
		return streamer_fail(err, STREAMER_E_VALIDATION, "payload", "payload: must be an object");
	json_object_foreach(payload, key, v) {
		if (strcmp(key, "text") != 0 && strcmp(key, "top") != 0 && strcmp(key, "min_length") != 0)
			return streamer_fail(err, STREAMER_E_VALIDATION, key,
					     "%s: unknown field (expected text, top, min_length)", key);
	}
	text = json_object_get(payload, "text");
	if (!json_is_string(text))
		return streamer_fail(err, STREAMER_E_VALIDATION, "text", "text: a string is required");
	if (json_string_length(text) > MAX_TEXT)
		return streamer_fail(err, STREAMER_E_VALIDATION, "text", "text: at most %d bytes", MAX_TEXT);
	if (int_param(payload, "top", 10, 1, MAX_TOP, &n, err) < 0 ||
	    int_param(payload, "min_length", 1, 1, MAX_WORD, &n, err) < 0)
		return -1;
	return 0;
}

struct entry {
	const char *word;
	json_int_t count;
};

static int by_count(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->word, y->word);
}

static int wordcount_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
			 struct streamer_error *err)
{
	const char *text = json_string_value(json_object_get(payload, "text"));
	size_t len = json_string_length(json_object_get(payload, "text"));
	json_t *counts = json_object(), *top = NULL;
	struct entry *all = NULL;
	size_t i = 0, next_report = len / 10, words = 0, lines = 0, chars = 0, nall = 0;
	int ntop, min_len, rc = -1;
	char word[MAX_WORD + 1];

	if (wordcount_validate(payload, err) < 0 ||
	    int_param(payload, "top", 10, 1, MAX_TOP, &ntop, err) < 0 ||
	    int_param(payload, "min_length", 1, 1, MAX_WORD, &min_len, err) < 0)
		goto out;
	if (!counts) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "out of memory");
		goto out;
	}
	while (i < len) {
		size_t wl = 0, start;

		/* skip to the next word, counting lines and characters on the way */
		while (i < len && !word_byte((unsigned char)text[i])) {
			lines += text[i] == '\n';
			chars += ((unsigned char)text[i] & 0xc0) != 0x80;
			i++;
		}
		start = i;
		while (i < len && word_byte((unsigned char)text[i])) {
			unsigned char c = (unsigned char)text[i];

			if (wl < MAX_WORD)
				word[wl++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
			chars += (c & 0xc0) != 0x80;
			i++;
		}
		if (i > start && wl >= (size_t)min_len) {
			json_t *c;

			if (i - start > MAX_WORD) {
				/* the cut may split a UTF-8 character: drop the partial one */
				size_t k = wl;

				while (k > 0 && ((unsigned char)word[k - 1] & 0xc0) == 0x80)
					k--;
				if (k > 0) {
					unsigned char lead = (unsigned char)word[k - 1];
					size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

					if (k - 1 + need > wl)
						wl = k - 1;
				}
			}
			word[wl] = '\0';
			c = json_object_get(counts, word);
			if (c)
				json_integer_set(c, json_integer_value(c) + 1);
			else if (wl > 0)
				json_object_set_new(counts, word, json_integer(1));
			words++;
		}
		if (i >= next_report && i < len) {
			char msg[64];
			int pct = (int)(i * 100 / len);

			snprintf(msg, sizeof msg, "%zu words so far", words);
			if (!ctx->progress(ctx, pct, msg, NULL) || streamer_should_stop(ctx)) {
				streamer_fail(err, STREAMER_E_CANCELLED, NULL, "Cancelled");
				goto out;
			}
			next_report = i + len / 10;
		}
	}
	if (len && text[len - 1] != '\n')
		lines++;

	{
		const char *key;
		json_t *v;

		all = calloc(json_object_size(counts) + 1, sizeof *all);
		if (!all) {
			streamer_fail(err, STREAMER_E_FAILED, NULL, "out of memory");
			goto out;
		}
		json_object_foreach(counts, key, v) {
			all[nall].word = key;
			all[nall++].count = json_integer_value(v);
		}
	}
	qsort(all, nall, sizeof *all, by_count);
	top = json_array();
	for (size_t k = 0; k < nall && k < (size_t)ntop; k++)
		json_array_append_new(top, json_pack("{s:s,s:I}", "word", all[k].word, "count",
						     all[k].count));
	*result = json_pack("{s:I,s:I,s:I,s:I,s:O}", "words", (json_int_t)words, "unique",
			    (json_int_t)nall, "lines", (json_int_t)lines, "characters",
			    (json_int_t)chars, "top", top);
	if (!*result) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "could not build the result");
		goto out;
	}
	rc = 0;
out:
	free(all);
	json_decref(top);
	json_decref(counts);
	return rc;
}

static const struct streamer_handler handlers[] = {
	{
		.name = "wordcount",
		.flags = STREAMER_HANDLER_ASYNC,
		.permission = NULL,
		.validate = wordcount_validate,
		.run = wordcount_run,
	},
	{ .name = NULL },
};

/* The one symbol the host looks up. */
const struct streamer_plugin streamer_plugin = {
	.abi_version = STREAMER_HANDLER_ABI_VERSION,
	.name = "wordcount",
	.version = "1.0",
	.handlers = handlers,
	.init = NULL,
	.fini = NULL,
};
