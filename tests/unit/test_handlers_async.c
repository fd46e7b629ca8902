/* test_handlers_async.c - unit tests for the built-in async actions: validation (many invalid payloads), process_data, generate_report, delay, echo_async. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "request_run.h"
#include "handlers_async.h"
#include "tap.h"
#include "tmpdir.h"
#include "test_ctx.h"
#include "util.h"

/* ---- helpers ---------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		printf("# bad test JSON: %s: %s\n", text, e.text);
	CHECK(j != NULL);
	return j;
}

/* Validates text with action's validate; returns its return value, err filled. */
static int validate(const char *action, const char *text, struct streamer_error *err)
{
	const struct streamer_handler *h = handlers_async_find(action);
	json_t *p = text ? parse(text) : NULL;
	int rc;

	CHECK(h != NULL);
	memset(err, 0, sizeof *err);
	rc = h->validate ? h->validate(p, err) : 0;
	json_decref(p);
	return rc;
}

/* One invalid payload and the field its error must name. */
struct bad {
	const char *payload;
	const char *field;
};

static void check_bad(const char *action, const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct streamer_error err;

		if (validate(action, cases[i].payload, &err) != -1) {
			printf("# %s accepted %s\n", action, cases[i].payload ? cases[i].payload : "(none)");
			CHECK(0);
		}
		if (strcmp(err.field, cases[i].field) != 0) {
			printf("# %s %s: field '%s' (%s), expected '%s'\n", action,
			       cases[i].payload ? cases[i].payload : "(none)",
			       err.field, err.message, cases[i].field);
			CHECK(0);
		}
		CHECK_STR(err.code, STREAMER_E_VALIDATION);
		/* the message names the field first */
		CHECK(strncmp(err.message, err.field, strlen(err.field)) == 0);
		CHECK(err.message[strlen(err.field)] == ':');
	}
}

/* Runs action on text (validated first, as the processor does); returns run's value. */
static int run(const char *action, const char *text, struct tctx *t, json_t **result,
	       struct streamer_error *err)
{
	const struct streamer_handler *h = handlers_async_find(action);
	json_t *p = text ? parse(text) : NULL, *copy = p ? json_deep_copy(p) : NULL;
	int rc;

	CHECK(h != NULL);
	t->ctx.handler = h;
	t->ctx.action = action;
	memset(err, 0, sizeof *err);
	*result = NULL;
	if (h->validate)
		CHECK_INT(h->validate(p, err), 0);
	rc = h->run(&t->ctx, p, result, err);
	/* the payload is borrowed: run must leave it as it was */
	if (p)
		CHECK(json_equal(p, copy));
	json_decref(copy);
	json_decref(p);
	return rc;
}

/* Runs process_data and returns its data array (a new reference); checks success. */
static json_t *pd(const char *text, json_t **stats)
{
	struct tctx t;
	struct streamer_error err;
	json_t *r, *data;

	tctx_init(&t, "process_data");
	if (run("process_data", text, &t, &r, &err) != 0) {
		printf("# process_data failed: %s\n", err.message);
		CHECK(0);
	}
	data = json_incref(json_object_get(r, "data"));
	CHECK(json_is_array(data));
	if (stats)
		*stats = json_incref(json_object_get(r, "stats"));
	json_decref(r);
	return data;
}

/* ---- the table ---------------------------------------------------------------------------- */

static void test_table(void)
{
	static const char *const names[] = { "process_data", "generate_report", "delay", "echo_async" };
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct streamer_handler *h = handlers_async_find(names[i]);

		CHECK(h != NULL);
		CHECK_STR(h->name, names[i]);
		CHECK(h->flags & STREAMER_HANDLER_ASYNC);
		CHECK(h->run != NULL);
	}
	for (const struct streamer_handler *h = handlers_async_table; h->name; h++)
		n++;
	CHECK_INT(n, 4);
	CHECK(handlers_async_find("echo") == NULL);
	CHECK(handlers_async_find("") == NULL);
	CHECK(handlers_async_find(NULL) == NULL);
	CHECK(handlers_async_find("PROCESS_DATA") == NULL);
}

/* ---- process_data: validation ----------------------------------------------------------- */

#define OP_OK "{\"type\":\"sort\",\"field\":\"a\"}"

static void test_process_data_invalid(void)
{
	static const struct bad cases[] = {
		{ NULL, "payload" },
		{ "null", "payload" },
		{ "[]", "payload" },
		{ "\"items\"", "payload" },
		{ "{}", "items" },
		{ "{\"operations\":[" OP_OK "]}", "items" },
		{ "{\"items\":{},\"operations\":[" OP_OK "]}", "items" },
		{ "{\"items\":\"x\",\"operations\":[" OP_OK "]}", "items" },
		{ "{\"items\":[{},3],\"operations\":[" OP_OK "]}", "items[1]" },
		{ "{\"items\":[null],\"operations\":[" OP_OK "]}", "items[0]" },
		{ "{\"items\":[[]],\"operations\":[" OP_OK "]}", "items[0]" },
		{ "{\"items\":[]}", "operations" },
		{ "{\"items\":[],\"operations\":[]}", "operations" },
		{ "{\"items\":[],\"operations\":{}}", "operations" },
		{ "{\"items\":[],\"operations\":[" OP_OK "],\"extra\":1}", "extra" },
		{ "{\"items\":[],\"operations\":[3]}", "operations[0]" },
		{ "{\"items\":[],\"operations\":[{}]}", "operations[0].type" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"explode\"}]}", "operations[0].type" },
		{ "{\"items\":[],\"operations\":[{\"type\":7}]}", "operations[0].type" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"FILTER\"}]}", "operations[0].type" },
		{ "{\"items\":[],\"operations\":[" OP_OK ",{\"type\":\"sort\"}]}", "operations[1].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"sort\",\"field\":\"a\",\"bogus\":1}]}", "operations[0].bogus" },
		/* filter */
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"op\":\"eq\",\"value\":1}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"\",\"op\":\"eq\",\"value\":1}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":5,\"op\":\"eq\",\"value\":1}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"value\":1}]}", "operations[0].op" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"like\",\"value\":1}]}", "operations[0].op" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"eq\"}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"gt\",\"value\":{}}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"lte\",\"value\":null}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"gte\",\"value\":[1]}]}", "operations[0].value" },
		/* transform */
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\"}]}", "operations[0].op" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"reverse\"}]}", "operations[0].op" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"op\":\"upper\"}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"multiply\"}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"multiply\",\"value\":\"2\"}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"add\",\"value\":null}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"round\",\"value\":11}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"round\",\"value\":-1}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"round\",\"value\":1.5}]}", "operations[0].value" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"upper\",\"value\":1}]}", "operations[0].value" },
		/* aggregate */
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"field\":\"a\"}]}", "operations[0].fn" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"field\":\"a\",\"fn\":\"median\"}]}", "operations[0].fn" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"fn\":\"sum\"}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"fn\":\"avg\",\"group_by\":\"g\"}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"fn\":\"count\",\"group_by\":5}]}", "operations[0].group_by" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"fn\":\"count\",\"group_by\":\"\"}]}", "operations[0].group_by" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"fn\":\"count\",\"order\":\"asc\"}]}", "operations[0].order" },
		/* sort */
		{ "{\"items\":[],\"operations\":[{\"type\":\"sort\",\"order\":\"asc\"}]}", "operations[0].field" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"sort\",\"field\":\"a\",\"order\":\"up\"}]}", "operations[0].order" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"sort\",\"field\":\"a\",\"order\":1}]}", "operations[0].order" },
		/* deduplicate */
		{ "{\"items\":[],\"operations\":[{\"type\":\"deduplicate\",\"fields\":\"a\"}]}", "operations[0].fields" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"deduplicate\",\"fields\":[]}]}", "operations[0].fields" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"deduplicate\",\"fields\":[\"a\",1]}]}", "operations[0].fields[1]" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"deduplicate\",\"fields\":[\"\"]}]}", "operations[0].fields[0]" },
		{ "{\"items\":[],\"operations\":[{\"type\":\"deduplicate\",\"field\":\"a\"}]}", "operations[0].field" },
	};

	check_bad("process_data", cases, ARRAY_SIZE(cases));
}

/* Error fields and messages stay valid UTF-8 however long the client's key. */
static void test_errors_utf8(void)
{
	struct buf b = { 0 };
	struct streamer_error err;
	json_t *f, *m;

	buf_puts(&b, "{\"items\":[],\"operations\":[" OP_OK "],\"a");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "é");
	buf_puts(&b, "\":1}");
	CHECK_INT(validate("process_data", b.data, &err), -1);
	f = json_string(err.field);
	m = json_string(err.message);
	CHECK(f != NULL && m != NULL);
	CHECK(strlen(err.field) == 63); /* "a" and 31 whole characters of the 64 bytes */
	CHECK(strstr(err.message, ": unknown field") != NULL);
	json_decref(f);
	json_decref(m);
	buf_free(&b);

	/* streamer_fail cuts long messages at a character boundary */
	b = (struct buf){ 0 };
	for (int i = 0; i < STREAMER_ERROR_MESSAGE_MAX; i++)
		buf_puts(&b, "€");
	streamer_fail(&err, STREAMER_E_FAILED, b.data, "%s", b.data);
	CHECK_INT(strlen(err.message), (STREAMER_ERROR_MESSAGE_MAX - 1) / 3 * 3);
	CHECK_INT(strlen(err.field), (STREAMER_ERROR_FIELD_MAX - 1) / 3 * 3);
	m = json_string(err.message);
	f = json_string(err.field);
	CHECK(f != NULL && m != NULL);
	json_decref(f);
	json_decref(m);
	buf_free(&b);
}

static void test_process_data_limits(void)
{
	struct buf b = { 0 };
	struct streamer_error err;
	char longname[PROCESS_DATA_MAX_FIELD + 2];

	/* items: exactly the limit passes, one more is refused */
	buf_puts(&b, "{\"items\":[");
	for (int i = 0; i < PROCESS_DATA_MAX_ITEMS; i++)
		buf_printf(&b, "%s{\"a\":%d}", i ? "," : "", i);
	buf_puts(&b, "],\"operations\":[" OP_OK "]}");
	CHECK_INT(validate("process_data", b.data, &err), 0);
	b.len -= strlen("],\"operations\":[" OP_OK "]}");
	buf_puts(&b, ",{}],\"operations\":[" OP_OK "]}");
	CHECK_INT(validate("process_data", b.data, &err), -1);
	CHECK_STR(err.field, "items");
	CHECK(strstr(err.message, "10001") != NULL);

	/* operations: 20 pass, 21 do not */
	buf_reset(&b);
	buf_puts(&b, "{\"items\":[],\"operations\":[");
	for (int i = 0; i < PROCESS_DATA_MAX_OPS; i++)
		buf_printf(&b, "%s" OP_OK, i ? "," : "");
	buf_puts(&b, "]}");
	CHECK_INT(validate("process_data", b.data, &err), 0);
	b.len -= 2;
	buf_puts(&b, "," OP_OK "]}");
	CHECK_INT(validate("process_data", b.data, &err), -1);
	CHECK_STR(err.field, "operations");

	/* field names: 128 bytes pass, 129 do not */
	memset(longname, 'f', sizeof longname);
	longname[PROCESS_DATA_MAX_FIELD] = '\0';
	buf_reset(&b);
	buf_printf(&b, "{\"items\":[],\"operations\":[{\"type\":\"sort\",\"field\":\"%s\"}]}", longname);
	CHECK_INT(validate("process_data", b.data, &err), 0);
	longname[PROCESS_DATA_MAX_FIELD] = 'f';
	longname[PROCESS_DATA_MAX_FIELD + 1] = '\0';
	buf_reset(&b);
	buf_printf(&b, "{\"items\":[],\"operations\":[{\"type\":\"sort\",\"field\":\"%s\"}]}", longname);
	CHECK_INT(validate("process_data", b.data, &err), -1);
	CHECK_STR(err.field, "operations[0].field");
	buf_free(&b);
}

static void test_process_data_valid(void)
{
	static const char *const ok[] = {
		"{\"items\":[],\"operations\":[" OP_OK "]}",
		"{\"items\":[{\"a\":1}],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"eq\",\"value\":null}]}",
		"{\"items\":[],\"operations\":[{\"type\":\"filter\",\"field\":\"a\",\"op\":\"contains\",\"value\":{\"x\":1}}]}",
		"{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"round\"}]}",
		"{\"items\":[],\"operations\":[{\"type\":\"transform\",\"field\":\"a\",\"op\":\"add\",\"value\":-2.5}]}",
		"{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"fn\":\"count\"}]}",
		"{\"items\":[],\"operations\":[{\"type\":\"deduplicate\"}]}",
		"{\"items\":[],\"operations\":[{\"type\":\"sort\",\"field\":\"ü\",\"order\":\"desc\"}]}",
	};
	struct streamer_error err;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		if (validate("process_data", ok[i], &err) != 0) {
			printf("# refused %s: %s\n", ok[i], err.message);
			CHECK(0);
		}
	}
}

/* ---- process_data: the operations ------------------------------------------------------------- */

#define ITEMS "[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2.5},{\"n\":\"c\",\"v\":\"x\"},{\"n\":\"d\"},{\"n\":\"e\",\"v\":[1,\"x\"]},{\"n\":\"f\",\"v\":2}]"

static json_t *filter(const char *op, const char *value)
{
	char text[1024];

	snprintf(text, sizeof text,
		 "{\"items\":" ITEMS ",\"operations\":[{\"type\":\"filter\",\"field\":\"v\",\"op\":\"%s\",\"value\":%s},"
		 "{\"type\":\"transform\",\"field\":\"n\",\"op\":\"upper\"}]}", op, value);
	return pd(text, NULL);
}

/* The "n" of each item, joined: "ABF". */
static void check_names(json_t *data, const char *expected)
{
	char got[64] = "";
	size_t i;
	json_t *item;

	json_array_foreach(data, i, item)
		strncat(got, json_string_value(json_object_get(item, "n")), sizeof got - strlen(got) - 1);
	if (strcmp(got, expected) != 0) {
		printf("# names %s, expected %s\n", got, expected);
		CHECK(0);
	}
	json_decref(data);
}

static void test_process_data_filter(void)
{
	check_names(filter("eq", "1"), "A");
	check_names(filter("eq", "1.0"), "A");       /* numbers by value */
	check_names(filter("eq", "null"), "D");      /* missing reads as null */
	check_names(filter("ne", "1"), "BCDEF");
	check_names(filter("gt", "1"), "BF");
	check_names(filter("gte", "2"), "BF");
	check_names(filter("lt", "2.5"), "AF");
	check_names(filter("lte", "1"), "A");
	check_names(filter("gt", "\"a\""), "C");     /* strings only against strings */
	check_names(filter("lt", "\"a\""), "");
	check_names(filter("contains", "\"x\""), "CE"); /* substring, array element */
	check_names(filter("contains", "1"), "E");
	check_names(filter("contains", "\"\""), "C");
	check_names(filter("eq", "[1,\"x\"]"), "E");
}

static void test_process_data_transform(void)
{
	json_t *stats, *data = pd("{\"items\":[{\"s\":\"  Hello World \\t\"},{\"s\":3},{\"x\":1}],"
				   "\"operations\":[{\"type\":\"transform\",\"field\":\"s\",\"op\":\"trim\"},"
				   "{\"type\":\"transform\",\"field\":\"s\",\"op\":\"upper\"}]}", &stats);

	check_json(data, "[{\"s\":\"HELLO WORLD\"},{\"s\":3},{\"x\":1}]");
	check_json(json_object_get(json_array_get(json_object_get(stats, "operations"), 0), "changed"), "1");
	check_json(json_object_get(json_array_get(json_object_get(stats, "operations"), 0), "skipped"), "2");
	json_decref(data);
	json_decref(stats);

	data = pd("{\"items\":[{\"s\":\"ÀbC dÉ\"}],\"operations\":[{\"type\":\"transform\",\"field\":\"s\",\"op\":\"lower\"}]}", NULL);
	check_json(data, "[{\"s\":\"Àbc dÉ\"}]"); /* ASCII letters only: UTF-8 stays intact */
	json_decref(data);

	data = pd("{\"items\":[{\"v\":3},{\"v\":1.5},{\"v\":\"3\"},{\"v\":9223372036854775807}],"
		  "\"operations\":[{\"type\":\"transform\",\"field\":\"v\",\"op\":\"multiply\",\"value\":2}]}", NULL);
	CHECK(json_is_integer(json_object_get(json_array_get(data, 0), "v")));
	check_json(data, "[{\"v\":6},{\"v\":3.0},{\"v\":\"3\"},{\"v\":1.8446744073709552e19}]");
	CHECK(json_is_real(json_object_get(json_array_get(data, 3), "v"))); /* overflow: real */
	json_decref(data);

	data = pd("{\"items\":[{\"v\":3},{\"v\":0.25}],\"operations\":[{\"type\":\"transform\",\"field\":\"v\",\"op\":\"add\",\"value\":0.5}]}", NULL);
	check_json(data, "[{\"v\":3.5},{\"v\":0.75}]");
	json_decref(data);

	data = pd("{\"items\":[{\"v\":2.5},{\"v\":-2.5},{\"v\":7},{\"v\":1.23456}],"
		  "\"operations\":[{\"type\":\"transform\",\"field\":\"v\",\"op\":\"round\"}]}", NULL);
	check_json(data, "[{\"v\":3},{\"v\":-3},{\"v\":7},{\"v\":1}]");
	CHECK(json_is_integer(json_object_get(json_array_get(data, 0), "v")));
	json_decref(data);

	data = pd("{\"items\":[{\"v\":1.23456}],\"operations\":[{\"type\":\"transform\",\"field\":\"v\",\"op\":\"round\",\"value\":2}]}", NULL);
	CHECK(json_is_real(json_object_get(json_array_get(data, 0), "v")));
	CHECK(json_real_value(json_object_get(json_array_get(data, 0), "v")) == 1.23);
	json_decref(data);
}

static void test_process_data_aggregate(void)
{
	json_t *stats, *data = pd(
		"{\"items\":[{\"g\":\"x\",\"v\":1},{\"g\":\"y\",\"v\":10},{\"g\":\"x\",\"v\":2.5},"
		"{\"g\":\"x\",\"v\":\"n/a\"},{\"v\":4},{\"g\":\"y\"}],"
		"\"operations\":[{\"type\":\"aggregate\",\"group_by\":\"g\",\"field\":\"v\",\"fn\":\"sum\"}]}", &stats);

	check_json(data, "[{\"g\":\"x\",\"count\":3,\"sum_v\":3.5},{\"g\":\"y\",\"count\":2,\"sum_v\":10},"
			 "{\"g\":null,\"count\":1,\"sum_v\":4}]");
	check_json(json_object_get(json_array_get(json_object_get(stats, "operations"), 0), "groups"), "3");
	json_decref(data);
	json_decref(stats);

	data = pd("{\"items\":[{\"v\":1},{\"v\":2},{\"v\":6},{\"w\":1}],\"operations\":["
		  "{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"avg\"}]}", NULL);
	check_json(data, "[{\"count\":4,\"avg_v\":3.0}]");
	json_decref(data);
	data = pd("{\"items\":[{\"v\":5},{\"v\":-2},{\"v\":6.5}],\"operations\":["
		  "{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"min\"}]}", NULL);
	check_json(data, "[{\"count\":3,\"min_v\":-2}]");
	json_decref(data);
	data = pd("{\"items\":[{\"v\":5},{\"v\":-2},{\"v\":6.5}],\"operations\":["
		  "{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"max\"}]}", NULL);
	check_json(data, "[{\"count\":3,\"max_v\":6.5}]");
	json_decref(data);
	data = pd("{\"items\":[{\"v\":5},{\"v\":null},{}],\"operations\":["
		  "{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"count\"}]}", NULL);
	check_json(data, "[{\"count\":3,\"count_v\":1}]");
	json_decref(data);
	/* nothing to aggregate: one row, sum 0, the others null */
	data = pd("{\"items\":[],\"operations\":[{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"sum\"}]}", NULL);
	check_json(data, "[{\"count\":0,\"sum_v\":0}]");
	json_decref(data);
	data = pd("{\"items\":[{\"v\":\"a\"}],\"operations\":[{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"avg\"}]}", NULL);
	check_json(data, "[{\"count\":1,\"avg_v\":null}]");
	json_decref(data);
	/* integer sums stay integers until they overflow */
	data = pd("{\"items\":[{\"v\":9223372036854775807},{\"v\":1}],\"operations\":["
		  "{\"type\":\"aggregate\",\"field\":\"v\",\"fn\":\"sum\"}]}", NULL);
	CHECK(json_is_real(json_object_get(json_array_get(data, 0), "sum_v")));
	json_decref(data);
	/* group keys that are objects, compared by value whatever the key order */
	data = pd("{\"items\":[{\"g\":{\"a\":1,\"b\":2}},{\"g\":{\"b\":2,\"a\":1}},{\"g\":{\"a\":2}}],"
		  "\"operations\":[{\"type\":\"aggregate\",\"group_by\":\"g\",\"fn\":\"count\"}]}", NULL);
	check_json(data, "[{\"g\":{\"a\":1,\"b\":2},\"count\":2},{\"g\":{\"a\":2},\"count\":1}]");
	json_decref(data);
}

static void test_process_data_sort(void)
{
	json_t *data = pd("{\"items\":[{\"n\":\"a\",\"v\":2},{\"n\":\"b\",\"v\":\"z\"},{\"n\":\"c\",\"v\":1},"
			  "{\"n\":\"d\"},{\"n\":\"e\",\"v\":2.0},{\"n\":\"f\",\"v\":true},{\"n\":\"g\",\"v\":\"a\"}],"
			  "\"operations\":[{\"type\":\"sort\",\"field\":\"v\"}]}", NULL);

	/* null < bool < numbers < strings; equal keys keep their order (a before e) */
	check_names(data, "dfcaegb");
	data = pd("{\"items\":[{\"n\":\"a\",\"v\":2},{\"n\":\"b\",\"v\":\"z\"},{\"n\":\"c\",\"v\":1},"
		  "{\"n\":\"d\"},{\"n\":\"e\",\"v\":2.0},{\"n\":\"f\",\"v\":true},{\"n\":\"g\",\"v\":\"a\"}],"
		  "\"operations\":[{\"type\":\"sort\",\"field\":\"v\",\"order\":\"desc\"}]}", NULL);
	check_names(data, "bgaecfd");
	data = pd("{\"items\":[{\"n\":\"b\",\"v\":\"é\"},{\"n\":\"a\",\"v\":\"z\"},{\"n\":\"c\",\"v\":\"Z\"}],"
		  "\"operations\":[{\"type\":\"sort\",\"field\":\"v\"}]}", NULL);
	check_names(data, "cab"); /* bytewise: Z < z < é */
}

static void test_process_data_dedup(void)
{
	json_t *data = pd("{\"items\":[{\"n\":\"a\",\"k\":1,\"j\":1},{\"n\":\"b\",\"k\":1,\"j\":2},"
			  "{\"n\":\"c\",\"k\":2,\"j\":1},{\"n\":\"d\",\"k\":1,\"j\":1},{\"n\":\"e\"},{\"n\":\"f\"}],"
			  "\"operations\":[{\"type\":\"deduplicate\",\"fields\":[\"k\",\"j\"]}]}", NULL);

	check_names(data, "abce");
	data = pd("{\"items\":[{\"n\":\"a\",\"k\":1},{\"k\":1,\"n\":\"a\"},{\"n\":\"a\",\"k\":2}],"
		  "\"operations\":[{\"type\":\"deduplicate\"}]}", NULL);
	CHECK_INT(json_array_size(data), 2);
	json_decref(data);
}

static void test_process_data_pipeline(void)
{
	struct tctx t;
	struct streamer_error err;
	json_t *r, *stats, *ops;

	tctx_init(&t, "process_data");
	CHECK_INT(run("process_data",
		      "{\"items\":[{\"city\":\" oslo\",\"sales\":10},{\"city\":\"bergen \",\"sales\":5},"
		      "{\"city\":\"oslo\",\"sales\":7},{\"city\":\"Bergen\",\"sales\":1},{\"city\":\"oslo\",\"sales\":7}],"
		      "\"operations\":["
		      "{\"type\":\"transform\",\"field\":\"city\",\"op\":\"trim\"},"
		      "{\"type\":\"transform\",\"field\":\"city\",\"op\":\"lower\"},"
		      "{\"type\":\"deduplicate\"},"
		      "{\"type\":\"filter\",\"field\":\"sales\",\"op\":\"gt\",\"value\":2},"
		      "{\"type\":\"aggregate\",\"group_by\":\"city\",\"field\":\"sales\",\"fn\":\"sum\"},"
		      "{\"type\":\"sort\",\"field\":\"sum_sales\",\"order\":\"desc\"}]}",
		      &t, &r, &err), 0);
	check_json(json_object_get(r, "data"),
		   "[{\"city\":\"oslo\",\"count\":2,\"sum_sales\":17},{\"city\":\"bergen\",\"count\":1,\"sum_sales\":5}]");
	stats = json_object_get(r, "stats");
	check_json(json_object_get(stats, "input_items"), "5");
	check_json(json_object_get(stats, "output_items"), "2");
	ops = json_object_get(stats, "operations");
	CHECK_INT(json_array_size(ops), 6);
	check_json(json_object_get(json_array_get(ops, 2), "type"), "\"deduplicate\"");
	check_json(json_object_get(json_array_get(ops, 2), "items_in"), "5");
	check_json(json_object_get(json_array_get(ops, 2), "items_out"), "4");
	check_json(json_object_get(json_array_get(ops, 3), "items_out"), "3");
	CHECK(json_is_integer(json_object_get(stats, "duration_ms")));
	/* progress before each operation, in order, below 100 */
	CHECK_INT(t.calls, 6);
	for (int i = 0; i < t.calls; i++) {
		CHECK(t.pct[i] < 100);
		CHECK(i == 0 || t.pct[i] > t.pct[i - 1]);
	}
	CHECK_INT(t.pct[0], 0);
	CHECK_STR(t.msg[2], "deduplicate (3 of 6)");
	json_decref(r);
}

static void test_process_data_cancel(void)
{
	struct tctx t;
	struct streamer_error err;
	json_t *r = NULL;

	tctx_init(&t, "process_data");
	t.stop_at = 2;
	CHECK_INT(run("process_data", "{\"items\":[{\"a\":1}],\"operations\":[" OP_OK "," OP_OK "," OP_OK "]}",
		      &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK(r == NULL);
	CHECK_INT(t.calls, 2); /* stopped at once */

	tctx_init(&t, "process_data");
	t.ctx.deadline_ms = streamer_now_ms() - 1;
	CHECK_INT(run("process_data", "{\"items\":[],\"operations\":[" OP_OK "]}", &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_TIMEOUT);
}

/* ---- generate_report ---------------------------------------------------------------------------- */

static void test_report_invalid(void)
{
	static const struct bad cases[] = {
		{ NULL, "payload" },
		{ "[]", "payload" },
		{ "\"2024-01-01\"", "payload" },
		{ "{}", "start_date" },
		{ "{\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-01\"}", "end_date" },
		{ "{\"start_date\":20240101,\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":null,\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":\"2024-1-01\",\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-1\",\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":\"2024/01/01\",\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":\"01-01-2024\",\"end_date\":\"2024-01-01\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-01T00:00:00Z\",\"end_date\":\"2024-01-02\"}", "start_date" },
		{ "{\"start_date\":\" 2024-01-01\",\"end_date\":\"2024-01-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-01 \",\"end_date\":\"2024-01-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-0a-01\",\"end_date\":\"2024-01-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-13-01\",\"end_date\":\"2024-12-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-00-10\",\"end_date\":\"2024-01-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-00\",\"end_date\":\"2024-01-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-32\",\"end_date\":\"2024-02-02\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-02-30\"}", "end_date" },
		{ "{\"start_date\":\"2023-02-29\",\"end_date\":\"2023-03-01\"}", "start_date" },
		{ "{\"start_date\":\"1900-02-29\",\"end_date\":\"1900-03-01\"}", "start_date" },
		{ "{\"start_date\":\"2024-04-31\",\"end_date\":\"2024-05-01\"}", "start_date" },
		{ "{\"start_date\":\"1969-12-31\",\"end_date\":\"1970-01-01\"}", "start_date" },
		{ "{\"start_date\":\"2024-01-02\",\"end_date\":\"2024-01-01\"}", "end_date" },
		{ "{\"start_date\":\"2023-01-01\",\"end_date\":\"2024-01-02\"}", "end_date" },
		{ "{\"start_date\":\"2020-01-01\",\"end_date\":\"2024-01-01\"}", "end_date" },
		{ "{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-01-02\",\"format\":\"pdf\"}", "format" },
		{ "{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-01-02\",\"format\":\"CSV\"}", "format" },
		{ "{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-01-02\",\"format\":null}", "format" },
		{ "{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-01-02\",\"report_type\":\"monthly\"}", "report_type" },
	};
	struct streamer_error err;

	check_bad("generate_report", cases, ARRAY_SIZE(cases));
	CHECK_INT(validate("generate_report", "{\"start_date\":\"2023-01-01\",\"end_date\":\"2024-01-02\"}", &err), -1);
	CHECK(strstr(err.message, "367 days") != NULL);
}

static void test_report_valid(void)
{
	static const char *const ok[] = {
		"{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-01-01\"}",
		"{\"start_date\":\"2024-02-29\",\"end_date\":\"2024-03-01\",\"format\":\"csv\"}",
		"{\"start_date\":\"2000-02-29\",\"end_date\":\"2000-02-29\",\"format\":\"json\"}",
		"{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-12-31\"}",  /* 366 days, a leap year */
		"{\"start_date\":\"2023-01-01\",\"end_date\":\"2024-01-01\"}",  /* 366 days */
		"{\"start_date\":\"1970-01-01\",\"end_date\":\"1970-01-31\"}",
		"{\"start_date\":\"9999-12-01\",\"end_date\":\"9999-12-31\"}",
	};
	struct streamer_error err;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		if (validate("generate_report", ok[i], &err) != 0) {
			printf("# refused %s: %s\n", ok[i], err.message);
			CHECK(0);
		}
	}
}

/* A fake activity source: a table of rows; counts calls; optional failure. */
struct fake_src {
	const struct store_activity_row *rows;
	size_t n;
	int fail;
	size_t repeat;        /* emit the table this many times (at increasing times) */
	int64_t from, until;  /* what it was asked for */
	char tenant[64];
};

static int fake_activity(void *src, const char *tenant, int64_t from_ms, int64_t until_ms,
			 activity_row_fn emit, void *emit_arg, char *err, size_t errlen)
{
	struct fake_src *f = src;

	f->from = from_ms;
	f->until = until_ms;
	snprintf(f->tenant, sizeof f->tenant, "%s", tenant);
	if (f->fail) {
		snprintf(err, errlen, "database is locked");
		return -1;
	}
	for (size_t k = 0; k < (f->repeat ? f->repeat : 1); k++) {
		for (size_t i = 0; i < f->n; i++) {
			struct store_activity_row r = f->rows[i];

			r.at_ms += (int64_t)k;
			if (emit(emit_arg, &r) != 0)
				return 0;
		}
	}
	return 0;
}

/* 2024-03-01T00:00:00Z */
#define T0 1709251200000LL
#define DAY 86400000LL

static const struct store_activity_row rows[] = {
	{ T0 - 1, "request", "acme", "too-early", "alice", "delay", "COMPLETED", 5 },
	{ T0, "connection", "acme", "c1", "alice", NULL, NULL, 60000 },
	{ T0 + 1000, "request", "acme", "r,1", "alice", "process_data", "COMPLETED", 12 },
	{ T0 + 2000, "request", "acme", "say \"hi\"", "bob", "echo_async", "FAILED", -1 },
	{ T0 + 3000, "request", "acme", "=cmd|' /C calc'!A0", "bob\nby", "delay", "COMPLETED", 1500 },
	{ T0 + 2 * DAY - 1, "request", "acme", "last", "carol", "delay", "CANCELLED", 0 },
	{ T0 + 2 * DAY, "request", "acme", "too-late", "carol", "delay", "COMPLETED", 0 },
};

static char *make_tmpdir(void)
{
	char *d = xmalloc(TMPDIR_MAX);

	tmpdir_make(d, TMPDIR_MAX, "streamer-test-report");
	return d;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void rm_rf(const char *dir)
{
	CHECK_INT(tmpdir_remove(dir), 0);
}

/* Removes the whole temporary directory behind a report() directory ("<tmp>/out/reports"). */
static void rm_report(char *dir)
{
	static const char tail[] = "/out/reports";
	size_t n = strlen(dir), k = sizeof tail - 1;

	CHECK(n > k && strcmp(dir + n - k, tail) == 0);
	if (n > k)
		dir[n - k] = '\0';
	rm_rf(dir);
}

/* Runs generate_report over the fake rows into a fresh directory; returns the result. */
static json_t *report(const char *payload, struct fake_src *src, char **dir_out, struct tctx *t,
		      struct streamer_error *err, int expect)
{
	static struct async_host host;
	char *dir = make_tmpdir();
	struct buf out = { 0 };
	json_t *r = NULL;

	host.activity = fake_activity;
	host.activity_src = src;
	host.url_prefix = "/dl/";
	buf_printf(&out, "%s/out/reports", dir); /* made on demand */
	t->ctx.output_dir = out.data;
	t->ctx.host = &host;
	CHECK_INT(run("generate_report", payload, t, &r, err), expect);
	t->ctx.output_dir = NULL;
	*dir_out = buf_detach(&out);
	free(dir);
	return r;
}

static char *slurp(const char *dir, const char *file, size_t *len)
{
	struct buf p = { 0 };
	char *text;

	buf_printf(&p, "%s/%s", dir, file);
	text = file_read(p.data, 1 << 24, len);
	CHECK(text != NULL);
	buf_free(&p);
	return text;
}

static void test_report_csv(void)
{
	struct fake_src src = { rows, ARRAY_SIZE(rows), 0, 0, 0, 0, "" };
	struct tctx t;
	struct streamer_error err;
	char *dir, *text;
	const char *file;
	size_t len;
	json_t *r;

	tctx_init(&t, "generate_report");
	r = report("{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\",\"format\":\"csv\"}",
		   &src, &dir, &t, &err, 0);
	CHECK_STR(src.tenant, "acme");
	CHECK_INT(src.from, T0);
	CHECK_INT(src.until, T0 + 2 * DAY);
	check_json(json_object_get(r, "format"), "\"csv\"");
	check_json(json_object_get(r, "rows"), "5");
	check_json(json_object_get(r, "tenant_id"), "\"acme\"");
	check_json(json_object_get(r, "start_date"), "\"2024-03-01\"");
	check_json(json_object_get(json_object_get(r, "summary"), "connections"), "1");
	check_json(json_object_get(json_object_get(r, "summary"), "requests"), "4");
	check_json(json_object_get(json_object_get(r, "summary"), "requests_by_status"),
		   "{\"COMPLETED\":2,\"FAILED\":1,\"CANCELLED\":1}");
	file = json_string_value(json_object_get(r, "file"));
	CHECK(file != NULL);
	/* report-<tenant>-<dates>-<tenant key: sha256("acme") 16 hex>-<128 random bits>.csv */
	CHECK(strncmp(file, "report-acme-2024-03-01_2024-03-02-822b33ad87c148a0-", 51) == 0);
	CHECK(strlen(file) == 34 + 17 + 32 + 4 && strcmp(file + 83, ".csv") == 0);
	CHECK(strncmp(json_string_value(json_object_get(r, "url")), "/dl/", 4) == 0);
	CHECK_STR(json_string_value(json_object_get(r, "url")) + 4, file);
	CHECK_INT(count_files(dir), 1); /* no temporary file left */
	text = slurp(dir, file, &len);
	CHECK_INT(json_integer_value(json_object_get(r, "bytes")), len);
	CHECK_STR(text,
		  "time,kind,id,user_id,action,status,duration_ms\n"
		  "2024-03-01T00:00:00.000Z,connection,,alice,,,60000\n" /* no connection id */
		  "2024-03-01T00:00:01.000Z,request,\"r,1\",alice,process_data,COMPLETED,12\n"
		  "2024-03-01T00:00:02.000Z,request,\"say \"\"hi\"\"\",bob,echo_async,FAILED,\n"
		  "2024-03-01T00:00:03.000Z,request,'=cmd|' /C calc'!A0,\"bob\nby\",delay,COMPLETED,1500\n"
		  "2024-03-02T23:59:59.999Z,request,last,carol,delay,CANCELLED,0\n");
	/* progress: started at 0, ended below 100, never going back */
	CHECK(t.calls >= 2);
	CHECK_INT(t.pct[0], 0);
	for (int i = 1; i < t.calls; i++)
		CHECK(t.pct[i] >= t.pct[i - 1] && t.pct[i] < 100);
	free(text);
	json_decref(r);
	rm_report(dir);
	free(dir);
}

static void test_report_json(void)
{
	struct fake_src src = { rows, ARRAY_SIZE(rows), 0, 0, 0, 0, "" };
	struct tctx t;
	struct streamer_error err;
	char *dir, *text;
	size_t len;
	json_t *r, *doc;
	json_error_t je;

	tctx_init(&t, "generate_report");
	r = report("{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &src, &dir, &t, &err, 0);
	check_json(json_object_get(r, "format"), "\"json\"");
	text = slurp(dir, json_string_value(json_object_get(r, "file")), &len);
	doc = json_loadb(text, len, 0, &je);
	if (!doc)
		printf("# not JSON: %s\n%s\n", je.text, text);
	CHECK(doc != NULL);
	check_json(json_object_get(doc, "tenant_id"), "\"acme\"");
	check_json(json_object_get(doc, "end_date"), "\"2024-03-02\"");
	CHECK_INT(json_array_size(json_object_get(doc, "rows")), 5);
	check_json(json_array_get(json_object_get(doc, "rows"), 3),
		   "{\"time\":\"2024-03-01T00:00:03.000Z\",\"kind\":\"request\",\"id\":\"=cmd|' /C calc'!A0\","
		   "\"user_id\":\"bob\\nby\",\"action\":\"delay\",\"status\":\"COMPLETED\",\"duration_ms\":1500}");
	check_json(json_object_get(json_array_get(json_object_get(doc, "rows"), 0), "action"), "null");
	/* a connection row carries no id: a connection id is its owner's credential */
	check_json(json_array_get(json_object_get(doc, "rows"), 0),
		   "{\"time\":\"2024-03-01T00:00:00.000Z\",\"kind\":\"connection\",\"id\":null,"
		   "\"user_id\":\"alice\",\"action\":null,\"status\":null,\"duration_ms\":60000}");
	CHECK(strstr(text, "\"c1\"") == NULL);
	check_json(json_object_get(json_object_get(doc, "summary"), "rows_by_user"),
		   "{\"alice\":2,\"bob\":1,\"bob\\nby\":1,\"carol\":1}");
	check_json(json_object_get(json_object_get(doc, "summary"), "requests_by_action"),
		   "{\"process_data\":1,\"echo_async\":1,\"delay\":2}");
	free(text);
	json_decref(doc);
	json_decref(r);
	rm_report(dir);
	free(dir);

	/* no rows at all: still a valid, empty report */
	src.n = 0;
	tctx_init(&t, "generate_report");
	r = report("{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-01\"}", &src, &dir, &t, &err, 0);
	text = slurp(dir, json_string_value(json_object_get(r, "file")), &len);
	doc = json_loadb(text, len, 0, &je);
	CHECK(doc != NULL);
	CHECK_INT(json_array_size(json_object_get(doc, "rows")), 0);
	check_json(json_object_get(r, "rows"), "0");
	free(text);
	json_decref(doc);
	json_decref(r);
	rm_report(dir);
	free(dir);
}

static void test_report_unique_names(void)
{
	struct fake_src src = { rows, ARRAY_SIZE(rows), 0, 0, 0, 0, "" };
	static struct async_host host = { fake_activity, NULL, NULL, 0 };
	struct tctx t;
	struct streamer_error err;
	char *dir = make_tmpdir();
	json_t *a, *b;

	host.activity_src = &src;
	tctx_init(&t, "generate_report");
	t.ctx.tenant_id = "../ev il/..";
	t.ctx.output_dir = dir;
	t.ctx.host = &host;
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &a, &err), -1);
	/* every fake row belongs to acme: another tenant's row fails the report, leaving no file */
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(strstr(err.message, "another tenant") != NULL);
	CHECK_INT(count_files(dir), 0);

	src.n = 0;
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &a, &err), 0);
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &b, &err), 0);
	CHECK(strcmp(json_string_value(json_object_get(a, "file")), json_string_value(json_object_get(b, "file"))) != 0);
	/* the tenant is reduced to safe characters: no path separators */
	CHECK(strchr(json_string_value(json_object_get(a, "file")), '/') == NULL);
	CHECK(strncmp(json_string_value(json_object_get(a, "file")), "report-___ev_il___-", 19) == 0);
	CHECK_INT(count_files(dir), 2);
	json_decref(a);
	json_decref(b);
	rm_rf(dir);
	free(dir);
}

/* Writes a file of size bytes at dir/name. */
static void put_file(const char *dir, const char *name, size_t size)
{
	struct buf p = { 0 };
	FILE *f;

	buf_printf(&p, "%s/%s", dir, name);
	f = fopen(p.data, "w");
	CHECK(f != NULL);
	for (size_t i = 0; f && i < size; i++)
		fputc('x', f);
	if (f)
		fclose(f);
	buf_free(&p);
}

/* The per-tenant cap on stored report bytes: RATE_LIMITED once reached, other tenants' files not counted. */
static void test_report_quota(void)
{
	struct fake_src src = { rows, ARRAY_SIZE(rows), 0, 0, 0, 0, "" };
	static struct async_host host = { fake_activity, NULL, NULL, 0 };
	struct tctx t;
	struct streamer_error err;
	char *dir = make_tmpdir();
	json_t *a = NULL;
	size_t first;

	host.activity_src = &src;
	tctx_init(&t, "generate_report");
	t.ctx.output_dir = dir;
	t.ctx.host = &host;
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &a, &err), 0);
	first = (size_t)json_integer_value(json_object_get(a, "bytes"));
	CHECK(first > 0);
	json_decref(a);
	a = NULL;

	/* Another tenant's reports (even one whose reduced name looks like acme's) and stray files do not count. */
	put_file(dir, "report-acme-2024-03-01_2024-03-02-0123456789abcdef-0123456789abcdef0123456789abcdef.json", 5000);
	put_file(dir, "report-other-2024-03-01_2024-03-02-0123456789abcdef-0123456789abcdef0123456789abcdef.csv", 5000);
	put_file(dir, "notes.txt", 5000);
	host.report_quota_bytes = (int64_t)first + 1;
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &a, &err), 0);
	json_decref(a);
	a = NULL;
	CHECK_INT(count_files(dir), 5);

	/* acme now holds two reports, over the cap: refused before anything is written. */
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &a, &err), -1);
	CHECK(a == NULL);
	CHECK_STR(err.code, STREAMER_E_RATE_LIMITED);
	CHECK(strstr(err.message, "quota") != NULL);
	CHECK_INT(count_files(dir), 5);

	/* 0 = no cap */
	host.report_quota_bytes = 0;
	CHECK_INT(run("generate_report", "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}", &t, &a, &err), 0);
	json_decref(a);
	CHECK_INT(count_files(dir), 6);
	rm_rf(dir);
	free(dir);
}

/* report_gc deletes old report files and dead temporaries, nothing else. */
static void test_report_gc(void)
{
	char *dir = make_tmpdir();
	struct buf p = { 0 }, link = { 0 };
	char why[256] = "";
	int n = -1;

	put_file(dir, "report-acme-2024-03-01_2024-03-02-0123456789abcdef-0123456789abcdef0123456789abcdef.json", 10);
	put_file(dir, "report-old-legacy-name.csv", 10);
	put_file(dir, ".report-acme-x.csv.tmp", 10);
	put_file(dir, "keep.txt", 10);
	buf_printf(&p, "%s/sub", dir);
	CHECK_INT(mkdir(p.data, 0700), 0);
	buf_printf(&link, "%s/report-link.csv", dir);
	CHECK_INT(symlink("keep.txt", link.data), 0);
	/* Nothing is old enough yet. */
	CHECK_INT(report_gc(dir, time_now_ms() - 60000, time_now_ms() - 60000, &n, why, sizeof why), 0);
	CHECK_INT(n, 0);
	CHECK_INT(count_files(dir), 6);
	/* Reports older than the cut, but temporaries younger than theirs. */
	CHECK_INT(report_gc(dir, time_now_ms() + 60000, time_now_ms() - 60000, &n, why, sizeof why), 0);
	CHECK_INT(n, 2);
	CHECK_INT(count_files(dir), 4);
	CHECK_INT(report_gc(dir, time_now_ms() + 60000, time_now_ms() + 60000, &n, why, sizeof why), 0);
	CHECK_INT(n, 1);
	CHECK_INT(count_files(dir), 3); /* keep.txt, sub, the link */
	/* A missing directory has nothing to delete. */
	CHECK_INT(report_gc("/nonexistent/streamer-reports", time_now_ms(), time_now_ms(), &n, why, sizeof why), 0);
	CHECK_INT(n, 0);
	buf_free(&p);
	buf_free(&link);
	rm_rf(dir);
	free(dir);
}

static void test_report_failures(void)
{
	struct fake_src src = { rows, ARRAY_SIZE(rows), 1, 0, 0, 0, "" };
	static struct async_host host = { fake_activity, NULL, NULL, 0 };
	struct tctx t;
	struct streamer_error err;
	char *dir = make_tmpdir();
	json_t *r = NULL;
	const char *p = "{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\"}";

	host.activity_src = &src;
	tctx_init(&t, "generate_report");
	t.ctx.output_dir = dir;
	t.ctx.host = &host;
	/* the source fails: its reason reaches the message, no file is left */
	CHECK_INT(run("generate_report", p, &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(strstr(err.message, "database is locked") != NULL);
	CHECK_INT(count_files(dir), 0);
	/* no host, no source, no directory */
	t.ctx.host = NULL;
	CHECK_INT(run("generate_report", p, &t, &r, &err), -1);
	CHECK(strstr(err.message, "activity") != NULL);
	t.ctx.host = &host;
	t.ctx.output_dir = NULL;
	CHECK_INT(run("generate_report", p, &t, &r, &err), -1);
	CHECK(strstr(err.message, "output directory") != NULL);
	/* a directory that cannot be made */
	t.ctx.output_dir = "/proc/nope/reports";
	src.fail = 0;
	CHECK_INT(run("generate_report", p, &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_FAILED);
	CHECK(r == NULL);
	rm_rf(dir);
	free(dir);
}

static void test_report_cancel(void)
{
	struct fake_src src = { rows + 1, 4, 0, 2500, 0, 0, "" };
	struct tctx t;
	struct streamer_error err;
	char *dir;
	json_t *r;

	/* 10,000 rows: progress every 500, the second report says stop */
	tctx_init(&t, "generate_report");
	t.stop_at = 3;
	r = report("{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\",\"format\":\"csv\"}",
		   &src, &dir, &t, &err, -1);
	CHECK(r == NULL);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK_INT(t.calls, 3);
	CHECK_INT(count_files(dir), 0);
	rm_report(dir);
	free(dir);

	/* all of them, without a stop: 10,000 rows */
	tctx_init(&t, "generate_report");
	r = report("{\"start_date\":\"2024-03-01\",\"end_date\":\"2024-03-02\",\"format\":\"csv\"}",
		   &src, &dir, &t, &err, 0);
	check_json(json_object_get(r, "rows"), "10000");
	CHECK(t.calls >= 3);
	json_decref(r);
	rm_report(dir);
	free(dir);
}

/* ---- delay and echo_async ------------------------------------------------------------------------ */

static void test_delay_invalid(void)
{
	static const struct bad cases[] = {
		{ "[]", "payload" },
		{ "\"5\"", "payload" },
		{ "3", "payload" },
		{ "{\"seconds\":-1}", "seconds" },
		{ "{\"seconds\":301}", "seconds" },
		{ "{\"seconds\":300.5}", "seconds" },
		{ "{\"seconds\":\"5\"}", "seconds" },
		{ "{\"seconds\":null}", "seconds" },
		{ "{\"seconds\":true}", "seconds" },
		{ "{\"steps\":0}", "steps" },
		{ "{\"steps\":101}", "steps" },
		{ "{\"steps\":2.5}", "steps" },
		{ "{\"steps\":\"3\"}", "steps" },
		{ "{\"seconds\":1,\"sleep\":2}", "sleep" },
	};
	struct streamer_error err;

	check_bad("delay", cases, ARRAY_SIZE(cases));
	CHECK_INT(validate("delay", NULL, &err), 0);
	CHECK_INT(validate("delay", "null", &err), 0);
	CHECK_INT(validate("delay", "{}", &err), 0);
	CHECK_INT(validate("delay", "{\"seconds\":0,\"steps\":1}", &err), 0);
	CHECK_INT(validate("delay", "{\"seconds\":300,\"steps\":100}", &err), 0);
	CHECK_INT(validate("delay", "{\"seconds\":0.25}", &err), 0);
}

static void test_delay_run(void)
{
	struct tctx t;
	struct streamer_error err;
	json_t *r;
	int64_t t0 = streamer_now_ms(), took;

	tctx_init(&t, "delay");
	CHECK_INT(run("delay", "{\"seconds\":0.3,\"steps\":3}", &t, &r, &err), 0);
	took = streamer_now_ms() - t0;
	CHECK(took >= 300 && took < 1500);
	CHECK_INT(t.calls, 3);
	CHECK_INT(t.pct[0], 0);
	CHECK_INT(t.pct[1], 33);
	CHECK_INT(t.pct[2], 66);
	CHECK_STR(t.msg[2], "Step 3 of 3");
	check_json(json_object_get(r, "steps"), "3");
	CHECK(json_integer_value(json_object_get(r, "elapsed_ms")) >= 300);
	json_decref(r);

	tctx_init(&t, "delay");
	CHECK_INT(run("delay", "{\"seconds\":0}", &t, &r, &err), 0);
	CHECK_INT(t.calls, 10);
	json_decref(r);
}

static void test_delay_cancel(void)
{
	struct tctx t;
	struct streamer_error err;
	json_t *r = NULL;
	int64_t t0;

	/* a progress report says stop */
	tctx_init(&t, "delay");
	t.stop_at = 2;
	t0 = streamer_now_ms();
	CHECK_INT(run("delay", "{\"seconds\":10,\"steps\":10}", &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK(streamer_now_ms() - t0 < 1500);

	/* cancelled in the middle of a long step: noticed within a slice */
	tctx_init(&t, "delay");
	t0 = streamer_now_ms();
	t.cancel_at_ms = t0 + 200;
	CHECK_INT(run("delay", "{\"seconds\":30,\"steps\":1}", &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_CANCELLED);
	CHECK(streamer_now_ms() - t0 < 400);
	CHECK(r == NULL);

	/* the deadline passes */
	tctx_init(&t, "delay");
	t0 = streamer_now_ms();
	t.ctx.deadline_ms = t0 + 200;
	CHECK_INT(run("delay", "{\"seconds\":30,\"steps\":2}", &t, &r, &err), -1);
	CHECK_STR(err.code, STREAMER_E_TIMEOUT);
	CHECK(streamer_now_ms() - t0 < 400);
}

static void test_echo_async(void)
{
	static const char *const payloads[] = { "{\"a\":[1,2,{\"b\":null}],\"ü\":\"✓\"}", "[]", "\"x\"", "42", "null" };
	struct tctx t;
	struct streamer_error err;
	json_t *r;

	for (size_t i = 0; i < ARRAY_SIZE(payloads); i++) {
		tctx_init(&t, "echo_async");
		CHECK_INT(run("echo_async", payloads[i], &t, &r, &err), 0);
		check_json(r ? r : json_null(), payloads[i]);
		json_decref(r);
	}
	tctx_init(&t, "echo_async");
	CHECK_INT(run("echo_async", NULL, &t, &r, &err), 0);
	CHECK(r == NULL); /* null */
	CHECK(handlers_async_find("echo_async")->validate == NULL);
}

/* generate_report's database failure reaches the client without the database's path (that is logged). */
static int sink_progress(void *arg, int pct, const char *message, json_t *metadata)
{
	(void)arg;
	(void)pct;
	(void)message;
	(void)metadata;
	return 1;
}

static void test_report_database_error_is_generic(void)
{
	struct config cfg = { 0 };
	struct request_sink sink = { .progress = sink_progress };
	char out[TMPDIR_MAX], code[32] = "", msg[512] = "";
	json_t *payload = json_loads("{\"start_date\":\"2024-01-01\",\"end_date\":\"2024-01-02\"}", 0, NULL);
	json_t *result = NULL;
	struct request_input in = {
		.id = "j1", .request_id = "r1", .action = "generate_report",
		.handler = handlers_async_find("generate_report"), .user_id = "alice",
		.tenant_id = "acme", .payload = payload, .deadline_ms = time_now_ms() + 60000,
		.attempt = 1,
	};

	CHECK(payload != NULL);
	tmpdir_make(out, sizeof out, "streamer-test-report");
	cfg.db_path = (char *)"/nonexistent/secret-dir/streamer.db";
	cfg.output_dir = out;
	cfg.busy_timeout_ms = 100;
	CHECK_INT(request_run(&cfg, &in, &sink, &result, code, msg, sizeof msg), -1);
	CHECK_STR(code, "PROCESSING_FAILED");
	if (strstr(msg, "secret-dir") || !strstr(msg, "the database is unavailable"))
		printf("# message: %s\n", msg);
	CHECK(strstr(msg, "secret-dir") == NULL);
	CHECK(strstr(msg, "the database is unavailable") != NULL);
	json_decref(payload);
	CHECK(rmdir(out) == 0);
}

TAP_MAIN(
	TAP_TEST(test_table),
	TAP_TEST(test_process_data_invalid),
	TAP_TEST(test_errors_utf8),
	TAP_TEST(test_process_data_limits),
	TAP_TEST(test_process_data_valid),
	TAP_TEST(test_process_data_filter),
	TAP_TEST(test_process_data_transform),
	TAP_TEST(test_process_data_aggregate),
	TAP_TEST(test_process_data_sort),
	TAP_TEST(test_process_data_dedup),
	TAP_TEST(test_process_data_pipeline),
	TAP_TEST(test_process_data_cancel),
	TAP_TEST(test_report_invalid),
	TAP_TEST(test_report_valid),
	TAP_TEST(test_report_csv),
	TAP_TEST(test_report_json),
	TAP_TEST(test_report_unique_names),
	TAP_TEST(test_report_quota),
	TAP_TEST(test_report_gc),
	TAP_TEST(test_report_failures),
	TAP_TEST(test_report_cancel),
	TAP_TEST(test_delay_invalid),
	TAP_TEST(test_delay_run),
	TAP_TEST(test_delay_cancel),
	TAP_TEST(test_echo_async),
	TAP_TEST(test_report_database_error_is_generic)
)
