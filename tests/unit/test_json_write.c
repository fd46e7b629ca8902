/* test_json_write.c - unit tests for json_write.c: the same bytes as json_dumps(JSON_COMPACT) for every kind of value. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_write.h"
#include "tap.h"
#include "util.h"

/* jsonw_value(v) must equal json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), after a prefix kept as is. */
static void same_as_jansson(const json_t *v)
{
	struct buf b = {0};
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	CHECK(want != NULL);
	buf_puts(&b, "prefix");
	CHECK_INT(jsonw_value(&b, v), 0);
	CHECK_INT(b.len, strlen("prefix") + strlen(want));
	if (strcmp(b.data + 6, want) != 0)
		printf("# got  %s\n# want %s\n", b.data + 6, want);
	CHECK_STR(b.data + 6, want);
	CHECK(strncmp(b.data, "prefix", 6) == 0);
	free(want);
	buf_free(&b);
}

static void test_scalars(void)
{
	static const long long ints[] = { 0, 1, -1, 9, 10, -10, 123456789, LLONG_MAX, LLONG_MIN,
					   LLONG_MIN + 1, 1000000000000LL };
	static const double reals[] = { 0.0, -0.0, 1.5, 1e300, -2.5e-7, 3.0, 0.1 };
	json_t *v;

	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		same_as_jansson(v = json_integer(ints[i]));
		json_decref(v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(reals); i++) {
		same_as_jansson(v = json_real(reals[i]));
		json_decref(v);
	}
	same_as_jansson(json_null());
	same_as_jansson(json_true());
	same_as_jansson(json_false());
}

static void test_strings(void)
{
	static const char *const texts[] = {
		"", "plain", "quote\" back\\ slash/", "\b\f\n\r\t", "\x01\x02\x1e\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8", "</script>", "a\"b\"c\"",
	};
	char all[32];
	json_t *v;

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		same_as_jansson(v = json_string(texts[i]));
		json_decref(v);
	}
	/* Every control character, NUL included (json_stringn keeps it). */
	for (int c = 0; c < 32; c++)
		all[c] = (char)c;
	same_as_jansson(v = json_stringn(all, sizeof(all)));
	json_decref(v);
}

/* A random string of characters that need escapes, ASCII and multi-byte UTF-8. */
static json_t *random_string(void)
{
	static const char *const pieces[] = { "a", "Z", " ", "\"", "\\", "/", "\n", "\x01", "\x1f",
					      "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "=", "?" };
	struct buf b = {0};
	int n = rand() % 12;
	json_t *v;

	buf_puts(&b, "");
	for (int i = 0; i < n; i++)
		buf_puts(&b, pieces[rand() % ARRAY_SIZE(pieces)]);
	v = json_string(b.data);
	buf_free(&b);
	return v;
}

static json_t *random_value(int depth)
{
	int kind = rand() % (depth > 4 ? 6 : 8);
	json_t *v;

	switch (kind) {
	case 0: return json_null();
	case 1: return json_boolean(rand() % 2);
	case 2: return json_integer((json_int_t)rand() * (rand() % 2 ? -1 : 1) * (rand() % 1000));
	case 3: return json_real((double)rand() / 7.0);
	case 4:
	case 5: return random_string();
	case 6:
		v = json_array();
		for (int i = rand() % 5; i > 0; i--)
			json_array_append_new(v, random_value(depth + 1));
		return v;
	default:
		v = json_object();
		for (int i = rand() % 5; i > 0; i--) {
			json_t *k = random_string();

			json_object_set_new(v, json_string_value(k), random_value(depth + 1));
			json_decref(k);
		}
		return v;
	}
}

static void test_random_values(void)
{
	srand(16);
	for (int i = 0; i < 3000; i++) {
		json_t *v = random_value(0);

		same_as_jansson(v);
		json_decref(v);
	}
}

static void test_key_order_after_replace(void)
{
	json_t *o = json_pack("{s:i,s:i,s:i}", "b", 1, "a", 2, "c", 3);

	json_object_set_new(o, "a", json_string("again"));
	json_object_del(o, "b");
	json_object_set_new(o, "b", json_true());
	same_as_jansson(o);
	json_decref(o);
}

static void test_too_deep_or_cyclic(void)
{
	json_t *outer = json_array(), *inner = json_array(), *v = outer;
	struct buf b = {0};

	for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++) {
		json_t *next = json_array();

		json_array_append_new(v, next);
		v = next;
	}
	CHECK_INT(jsonw_value(&b, outer), -1);
	json_decref(outer);
	/* A cycle ends at the depth limit instead of recursing for ever. */
	outer = json_array();
	json_array_append(outer, inner);
	json_array_append(inner, outer);
	buf_reset(&b);
	CHECK_INT(jsonw_value(&b, outer), -1);
	json_array_clear(inner);
	json_decref(inner);
	json_decref(outer);
	CHECK_INT(jsonw_value(&b, NULL), -1);
	buf_free(&b);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_scalars),
		TAP_TEST(test_strings),
		TAP_TEST(test_random_values),
		TAP_TEST(test_key_order_after_replace),
		TAP_TEST(test_too_deep_or_cyclic),
	};

	return tap_run(tests, ARRAY_SIZE(tests));
}
