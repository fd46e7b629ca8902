/* handlers_async_data.c - the process_data action: filter, transform, aggregate, sort and deduplicate an inline list of items. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers_async_int.h"

/*
 * Semantics. A missing field reads as null. Numbers compare by value (1 ==
 * 1.0); strings compare bytewise (UTF-8 order).
 * - filter: eq/ne by value; gt/gte/lt/lte only between two numbers or two
 *   strings (anything else does not match); contains: a substring of a
 *   string field, or an element of an array field.
 * - transform: upper/lower change ASCII letters only; trim strips ASCII
 *   blanks; multiply/add keep integers integral while they fit; round
 *   rounds reals half away from zero to `value` decimals (0 gives an
 *   integer). A value of the wrong type is left as it is and counted as
 *   skipped.
 * - aggregate: one row per distinct group_by value (in order of first
 *   appearance; a single row without group_by): {group_by: value, "count":
 *   items, "<fn>_<field>": result}; count with a field counts its non-null
 *   values; sum/avg/min/max use the numeric values only (sum of none is 0,
 *   avg/min/max of none are null).
 * - sort: stable; order null < booleans < numbers < strings < arrays,
 *   objects; desc reverses it.
 * - deduplicate: keeps the first item of each distinct value of fields (or
 *   of the whole item), values equal when their JSON text is (object keys in
 *   any order).
 */

enum op_type { OP_FILTER, OP_TRANSFORM, OP_AGGREGATE, OP_SORT, OP_DEDUP };

static const char *const op_type_names[] = { "filter", "transform", "aggregate", "sort",
					     "deduplicate", NULL };

/* One parsed operation; strings and values are borrowed from the payload. */
struct op {
	enum op_type type;
	const char *field;    /* NULL when absent (aggregate count, deduplicate) */
	const char *op;       /* filter and transform */
	const char *fn;       /* aggregate */
	const char *group_by; /* aggregate, may be NULL */
	json_t *value;        /* filter and transform, may be NULL */
	int desc;             /* sort */
	int decimals;         /* transform round */
	json_t *fields;       /* deduplicate, may be NULL */
};

struct plan {
	json_t *items;
	size_t nops;
	struct op ops[PROCESS_DATA_MAX_OPS];
};

/* ---- parsing (the one validation) ------------------------------------------------ */

/* A field name: a string of 1..PROCESS_DATA_MAX_FIELD bytes. */
static int field_name(json_t *obj, const char *prefix, const char *key, int required,
		      const char **out, struct streamer_error *err)
{
	json_t *v = json_object_get(obj, key);
	char path[STREAMER_ERROR_FIELD_MAX];

	ha_path(path, sizeof path, prefix, key);
	*out = NULL;
	if (!v) {
		if (required)
			return ha_invalid(err, path, "is required");
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) < 1 ||
	    json_string_length(v) > PROCESS_DATA_MAX_FIELD)
		return ha_invalid(err, path, "expected a field name (a string of 1 to %d bytes)",
				  PROCESS_DATA_MAX_FIELD);
	*out = json_string_value(v);
	return 0;
}

static int parse_filter(json_t *o, const char *p, struct op *op, struct streamer_error *err)
{
	static const char *const keys[] = { "type", "field", "op", "value", NULL };
	static const char *const ops[] = { "eq", "ne", "gt", "gte", "lt", "lte", "contains", NULL };
	char path[STREAMER_ERROR_FIELD_MAX];

	if (ha_only_keys(o, p, keys, err) < 0 || field_name(o, p, "field", 1, &op->field, err) < 0 ||
	    ha_choice(o, p, "op", ops, NULL, &op->op, err) < 0)
		return -1;
	op->value = json_object_get(o, "value");
	ha_path(path, sizeof path, p, "value");
	if (!op->value)
		return ha_invalid(err, path, "is required");
	if (op->op[0] == 'g' || op->op[0] == 'l') {
		if (!json_is_number(op->value) && !json_is_string(op->value))
			return ha_invalid(err, path, "%s compares with a number or a string", op->op);
	}
	return 0;
}

static int parse_transform(json_t *o, const char *p, struct op *op, struct streamer_error *err)
{
	static const char *const keys[] = { "type", "field", "op", "value", NULL };
	static const char *const ops[] = { "upper", "lower", "trim", "multiply", "add", "round",
					   NULL };
	char path[STREAMER_ERROR_FIELD_MAX];

	if (ha_only_keys(o, p, keys, err) < 0 || field_name(o, p, "field", 1, &op->field, err) < 0 ||
	    ha_choice(o, p, "op", ops, NULL, &op->op, err) < 0)
		return -1;
	op->value = json_object_get(o, "value");
	ha_path(path, sizeof path, p, "value");
	if (strcmp(op->op, "multiply") == 0 || strcmp(op->op, "add") == 0) {
		if (!json_is_number(op->value))
			return ha_invalid(err, path, "%s needs a number", op->op);
	} else if (strcmp(op->op, "round") == 0) {
		if (op->value && (!json_is_integer(op->value) || json_integer_value(op->value) < 0 ||
				  json_integer_value(op->value) > 10))
			return ha_invalid(err, path, "round takes a number of decimals from 0 to 10");
		op->decimals = op->value ? (int)json_integer_value(op->value) : 0;
	} else if (op->value) {
		return ha_invalid(err, path, "%s takes no value", op->op);
	}
	return 0;
}

static int parse_aggregate(json_t *o, const char *p, struct op *op, struct streamer_error *err)
{
	static const char *const keys[] = { "type", "field", "fn", "group_by", NULL };
	static const char *const fns[] = { "count", "sum", "avg", "min", "max", NULL };

	if (ha_only_keys(o, p, keys, err) < 0 || ha_choice(o, p, "fn", fns, NULL, &op->fn, err) < 0 ||
	    field_name(o, p, "field", strcmp(op->fn, "count") != 0, &op->field, err) < 0 ||
	    field_name(o, p, "group_by", 0, &op->group_by, err) < 0)
		return -1;
	return 0;
}

static int parse_sort(json_t *o, const char *p, struct op *op, struct streamer_error *err)
{
	static const char *const keys[] = { "type", "field", "order", NULL };
	static const char *const orders[] = { "asc", "desc", NULL };
	const char *order;

	if (ha_only_keys(o, p, keys, err) < 0 || field_name(o, p, "field", 1, &op->field, err) < 0 ||
	    ha_choice(o, p, "order", orders, "asc", &order, err) < 0)
		return -1;
	op->desc = strcmp(order, "desc") == 0;
	return 0;
}

static int parse_dedup(json_t *o, const char *p, struct op *op, struct streamer_error *err)
{
	static const char *const keys[] = { "type", "fields", NULL };
	char path[STREAMER_ERROR_FIELD_MAX];
	size_t i;
	json_t *f;

	if (ha_only_keys(o, p, keys, err) < 0)
		return -1;
	op->fields = json_object_get(o, "fields");
	ha_path(path, sizeof path, p, "fields");
	if (!op->fields)
		return 0;
	if (!json_is_array(op->fields) || json_array_size(op->fields) < 1 ||
	    json_array_size(op->fields) > 20)
		return ha_invalid(err, path, "expected an array of 1 to 20 field names");
	json_array_foreach(op->fields, i, f) {
		if (!json_is_string(f) || json_string_length(f) < 1 ||
		    json_string_length(f) > PROCESS_DATA_MAX_FIELD) {
			char ip[STREAMER_ERROR_FIELD_MAX + 24];

			snprintf(ip, sizeof ip, "%s[%zu]", path, i);
			return ha_invalid(err, ip, "expected a field name (a string of 1 to %d bytes)",
					  PROCESS_DATA_MAX_FIELD);
		}
	}
	return 0;
}

static int plan_parse(json_t *payload, struct plan *pl, struct streamer_error *err)
{
	static const char *const keys[] = { "items", "operations", NULL };
	json_t *ops, *v;
	size_t i;

	memset(pl, 0, sizeof *pl);
	if (ha_need_object(payload, "payload", err) < 0 || ha_only_keys(payload, "", keys, err) < 0)
		return -1;
	pl->items = json_object_get(payload, "items");
	if (!pl->items)
		return ha_invalid(err, "items", "is required");
	if (!json_is_array(pl->items))
		return ha_invalid(err, "items", "must be an array of objects");
	if (json_array_size(pl->items) > PROCESS_DATA_MAX_ITEMS)
		return ha_invalid(err, "items", "holds %zu items, at most %d are allowed",
				  json_array_size(pl->items), PROCESS_DATA_MAX_ITEMS);
	json_array_foreach(pl->items, i, v) {
		if (!json_is_object(v)) {
			char path[32];

			snprintf(path, sizeof path, "items[%zu]", i);
			return ha_invalid(err, path, "must be an object");
		}
	}
	ops = json_object_get(payload, "operations");
	if (!ops)
		return ha_invalid(err, "operations", "is required");
	if (!json_is_array(ops) || json_array_size(ops) < 1 ||
	    json_array_size(ops) > PROCESS_DATA_MAX_OPS)
		return ha_invalid(err, "operations", "expected an array of 1 to %d operations",
				  PROCESS_DATA_MAX_OPS);
	json_array_foreach(ops, i, v) {
		struct op *op = &pl->ops[i];
		char p[48];
		const char *type;
		int rc;

		snprintf(p, sizeof p, "operations[%zu]", i);
		if (ha_need_object(v, p, err) < 0 ||
		    ha_choice(v, p, "type", op_type_names, NULL, &type, err) < 0)
			return -1;
		for (op->type = OP_FILTER; strcmp(op_type_names[op->type], type) != 0; op->type++)
			;
		switch (op->type) {
		case OP_FILTER: rc = parse_filter(v, p, op, err); break;
		case OP_TRANSFORM: rc = parse_transform(v, p, op, err); break;
		case OP_AGGREGATE: rc = parse_aggregate(v, p, op, err); break;
		case OP_SORT: rc = parse_sort(v, p, op, err); break;
		default: rc = parse_dedup(v, p, op, err); break;
		}
		if (rc < 0)
			return -1;
	}
	pl->nops = json_array_size(ops);
	return 0;
}

int process_data_validate(json_t *payload, struct streamer_error *err)
{
	struct plan pl;

	return plan_parse(payload, &pl, err);
}

/* ---- comparisons -------------------------------------------------------------------- */

/* -1, 0 or 1 for two numbers. */
static int num_cmp(json_t *a, json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);

		return x < y ? -1 : x > y;
	}
	double x = json_number_value(a), y = json_number_value(b);

	return x < y ? -1 : x > y;
}

static int values_equal(json_t *a, json_t *b)
{
	if (!a)
		a = json_null();
	if (!b)
		b = json_null();
	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	return json_equal(a, b);
}

static int type_rank(json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_NULL: return 0;
	case JSON_FALSE: case JSON_TRUE: return 1;
	case JSON_INTEGER: case JSON_REAL: return 2;
	case JSON_STRING: return 3;
	default: return 4;
	}
}

/* The total order of sort. */
static int sort_cmp(json_t *a, json_t *b)
{
	int ra = type_rank(a), rb = type_rank(b);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 1: return json_is_true(a) - json_is_true(b);
	case 2: return num_cmp(a, b);
	case 3: {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);

		return c ? (c < 0 ? -1 : 1) : la < lb ? -1 : la > lb;
	}
	default: return 0;
	}
}

static int filter_match(const struct op *op, json_t *v)
{
	const char *o = op->op;

	if (strcmp(o, "eq") == 0)
		return values_equal(v, op->value);
	if (strcmp(o, "ne") == 0)
		return !values_equal(v, op->value);
	if (strcmp(o, "contains") == 0) {
		if (json_is_string(v) && json_is_string(op->value))
			return memmem(json_string_value(v), json_string_length(v),
				      json_string_value(op->value),
				      json_string_length(op->value)) != NULL;
		if (json_is_array(v)) {
			size_t i;
			json_t *e;

			json_array_foreach(v, i, e)
				if (values_equal(e, op->value))
					return 1;
		}
		return 0;
	}
	/* gt gte lt lte */
	if (!((json_is_number(v) && json_is_number(op->value)) ||
	      (json_is_string(v) && json_is_string(op->value))))
		return 0;
	int c = sort_cmp(v, op->value);

	if (strcmp(o, "gt") == 0)
		return c > 0;
	if (strcmp(o, "gte") == 0)
		return c >= 0;
	if (strcmp(o, "lt") == 0)
		return c < 0;
	return c <= 0;
}

/* ---- the operations: each takes *data (an array) and may replace it ------------------------ */

static void op_filter(const struct op *op, json_t **data, json_t *stats)
{
	json_t *out = json_array(), *item;
	size_t i;

	json_array_foreach(*data, i, item)
		if (filter_match(op, json_object_get(item, op->field)))
			json_array_append(out, item);
	json_decref(*data);
	*data = out;
	(void)stats;
}

/* Sets *out to a new number a (op) b, or returns -1 when it would not be finite. */
static int arith(const char *o, json_t *a, json_t *b, json_t **out)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b), r;
		int over = o[0] == 'm' ? __builtin_mul_overflow(x, y, &r) : __builtin_add_overflow(x, y, &r);

		if (!over) {
			*out = json_integer(r);
			return 0;
		}
	}
	double r = o[0] == 'm' ? json_number_value(a) * json_number_value(b)
			       : json_number_value(a) + json_number_value(b);

	if (!isfinite(r))
		return -1;
	*out = json_real(r);
	return 0;
}

static json_t *string_op(const char *o, json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	char *c;
	json_t *r;

	if (o[0] == 't') {
		size_t a = 0, b = n;

		while (a < b && strchr(" \t\n\r\f\v", s[a]) && s[a])
			a++;
		while (b > a && strchr(" \t\n\r\f\v", s[b - 1]) && s[b - 1])
			b--;
		return json_stringn(s + a, b - a);
	}
	c = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (o[0] == 'u' && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		else if (o[0] == 'l' && ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		c[i] = ch;
	}
	r = json_stringn(c, n);
	free(c);
	return r;
}

static void op_transform(const struct op *op, json_t **data, json_t *stats)
{
	size_t i, changed = 0, skipped = 0;
	json_t *item;
	const char *o = op->op;

	json_array_foreach(*data, i, item) {
		json_t *v = json_object_get(item, op->field), *nv = NULL;

		if (!strcmp(o, "upper") || !strcmp(o, "lower") || !strcmp(o, "trim")) {
			if (json_is_string(v))
				nv = string_op(o, v);
		} else if (!strcmp(o, "multiply") || !strcmp(o, "add")) {
			if (json_is_number(v) && arith(o, v, op->value, &nv) < 0)
				nv = NULL;
		} else if (json_is_integer(v)) { /* round: already whole */
			nv = json_incref(v);
		} else if (json_is_real(v)) {
			double scale = pow(10, op->decimals), x = json_real_value(v) * scale;

			if (isfinite(x)) {
				double r = round(x) / scale;

				nv = op->decimals == 0 && fabs(r) < 9007199254740992.0
					     ? json_integer((json_int_t)r) : json_real(r);
			}
		}
		if (!nv) {
			skipped++;
			continue;
		}
		if (!values_equal(v, nv) || json_typeof(v) != json_typeof(nv))
			changed++;
		json_object_set_new(item, op->field, nv);
	}
	json_object_set_new(stats, "changed", json_integer((json_int_t)changed));
	json_object_set_new(stats, "skipped", json_integer((json_int_t)skipped));
}

/* The text a value is grouped or deduplicated by. Caller frees. */
static char *key_text(json_t *v)
{
	char *s = json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (!s)
		abort(); /* only on out of memory: the policy is to abort */
	return s;
}

struct group {
	json_t *key;       /* own reference */
	size_t count;      /* items */
	size_t nonnull;    /* items with a non-null field */
	size_t nnum;       /* numeric values */
	json_int_t isum;
	int int_ok;        /* every value an integer and no overflow so far */
	double dsum;
	json_t *min, *max; /* borrowed from items still alive */
};

static void op_aggregate(const struct op *op, json_t **data, json_t *stats)
{
	json_t *index = json_object(), *item, *out = json_array();
	struct group *g = NULL;
	size_t ng = 0, i;
	char name[PROCESS_DATA_MAX_FIELD + 8];

	if (!op->group_by) {
		g = xcalloc(1, sizeof *g);
		g->key = json_null();
		g->int_ok = 1;
		ng = 1;
	}
	json_array_foreach(*data, i, item) {
		struct group *gr;
		json_t *v;

		if (op->group_by) {
			json_t *k = json_object_get(item, op->group_by);
			char *text = key_text(k);
			json_t *at = json_object_get(index, text);

			if (!at) {
				g = xrealloc(g, (ng + 1) * sizeof *g);
				memset(&g[ng], 0, sizeof *g);
				g[ng].key = json_incref(k ? k : json_null());
				g[ng].int_ok = 1;
				at = json_integer((json_int_t)ng++);
				json_object_set_new(index, text, at);
			}
			free(text);
			gr = &g[json_integer_value(at)];
		} else {
			gr = &g[0];
		}
		gr->count++;
		v = op->field ? json_object_get(item, op->field) : NULL;
		if (v && !json_is_null(v))
			gr->nonnull++;
		if (!json_is_number(v))
			continue;
		gr->nnum++;
		gr->dsum += json_number_value(v);
		if (!json_is_integer(v) || __builtin_add_overflow(gr->isum, json_integer_value(v), &gr->isum))
			gr->int_ok = 0;
		if (!gr->min || num_cmp(v, gr->min) < 0)
			gr->min = v;
		if (!gr->max || num_cmp(v, gr->max) > 0)
			gr->max = v;
	}
	for (i = 0; i < ng; i++) {
		json_t *row = json_object(), *val;

		if (op->group_by)
			json_object_set(row, op->group_by, g[i].key);
		json_object_set_new(row, "count", json_integer((json_int_t)g[i].count));
		if (strcmp(op->fn, "count") == 0) {
			if (op->field) {
				snprintf(name, sizeof name, "count_%s", op->field);
				json_object_set_new(row, name, json_integer((json_int_t)g[i].nonnull));
			}
		} else {
			if (strcmp(op->fn, "sum") == 0)
				val = g[i].int_ok ? json_integer(g[i].isum) : json_real(g[i].dsum);
			else if (g[i].nnum == 0)
				val = json_null();
			else if (strcmp(op->fn, "avg") == 0)
				val = json_real(g[i].dsum / (double)g[i].nnum);
			else
				val = json_incref(strcmp(op->fn, "min") == 0 ? g[i].min : g[i].max);
			snprintf(name, sizeof name, "%s_%s", op->fn, op->field);
			/* a sum of finite numbers can still overflow a double: then null */
			json_object_set_new(row, name, val ? val : json_null());
		}
		json_array_append_new(out, row);
		json_decref(g[i].key);
	}
	json_object_set_new(stats, "groups", json_integer((json_int_t)ng));
	free(g);
	json_decref(index);
	json_decref(*data);
	*data = out;
}

/* Stable merge sort of v[0..n) by key, using tmp[0..n). */
struct sort_item {
	json_t *item;
	json_t *key;
};

static void merge_sort(struct sort_item *v, struct sort_item *tmp, size_t n, int desc)
{
	size_t mid = n / 2, a = 0, b = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(v, tmp, mid, desc);
	merge_sort(v + mid, tmp, n - mid, desc);
	while (a < mid && b < n) {
		int c = sort_cmp(v[a].key, v[b].key);

		/* take from the right only when strictly before: stability */
		if (desc ? c < 0 : c > 0)
			tmp[k++] = v[b++];
		else
			tmp[k++] = v[a++];
	}
	while (a < mid)
		tmp[k++] = v[a++];
	while (b < n)
		tmp[k++] = v[b++];
	memcpy(v, tmp, n * sizeof *v);
}

static void op_sort(const struct op *op, json_t **data, json_t *stats)
{
	size_t n = json_array_size(*data), i;
	struct sort_item *v = xcalloc(n ? n : 1, sizeof *v), *tmp = xcalloc(n ? n : 1, sizeof *v);
	json_t *out = json_array(), *item;

	json_array_foreach(*data, i, item) {
		v[i].item = item;
		v[i].key = json_object_get(item, op->field);
	}
	merge_sort(v, tmp, n, op->desc);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i].item);
	free(v);
	free(tmp);
	json_decref(*data);
	*data = out;
	(void)stats;
}

static void op_dedup(const struct op *op, json_t **data, json_t *stats)
{
	json_t *seen = json_object(), *out = json_array(), *item;
	size_t i;

	json_array_foreach(*data, i, item) {
		json_t *key = item;
		char *text;

		if (op->fields) {
			size_t k;
			json_t *f;

			key = json_array();
			json_array_foreach(op->fields, k, f) {
				json_t *v = json_object_get(item, json_string_value(f));

				json_array_append(key, v ? v : json_null());
			}
		}
		text = key_text(key);
		if (key != item)
			json_decref(key);
		if (!json_object_get(seen, text)) {
			json_object_set_new(seen, text, json_true());
			json_array_append(out, item);
		}
		free(text);
	}
	json_decref(seen);
	json_decref(*data);
	*data = out;
	(void)stats;
}

int process_data_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
		     struct streamer_error *err)
{
	static void (*const apply[])(const struct op *, json_t **, json_t *) = {
		[OP_FILTER] = op_filter, [OP_TRANSFORM] = op_transform,
		[OP_AGGREGATE] = op_aggregate, [OP_SORT] = op_sort, [OP_DEDUP] = op_dedup,
	};
	struct plan pl;
	json_t *data, *opstats;
	int64_t started = streamer_now_ms();
	size_t n_in;

	if (plan_parse(payload, &pl, err) < 0)
		return -1;
	data = json_deep_copy(pl.items); /* the payload is borrowed: work on a copy */
	if (!data)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not copy the items");
	n_in = json_array_size(data);
	opstats = json_array();
	for (size_t i = 0; i < pl.nops; i++) {
		const struct op *op = &pl.ops[i];
		json_t *st = json_pack("{s:s,s:I}", "type", op_type_names[op->type], "items_in",
				       (json_int_t)json_array_size(data));
		char msg[64];

		snprintf(msg, sizeof msg, "%s (%zu of %zu)", op_type_names[op->type], i + 1, pl.nops);
		if (ha_progress(ctx, (int)(i * 100 / pl.nops), msg, err) < 0) {
			json_decref(st);
			json_decref(opstats);
			json_decref(data);
			return -1;
		}
		apply[op->type](op, &data, st);
		json_object_set_new(st, "items_out", json_integer((json_int_t)json_array_size(data)));
		json_array_append_new(opstats, st);
	}
	*result = json_pack("{s:o,s:{s:I,s:I,s:o,s:I}}", "data", data, "stats",
			    "input_items", (json_int_t)n_in,
			    "output_items", (json_int_t)json_array_size(data),
			    "operations", opstats,
			    "duration_ms", (json_int_t)(streamer_now_ms() - started));
	if (!*result)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not build the result");
	return 0;
}
