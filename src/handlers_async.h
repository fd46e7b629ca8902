/* handlers_async.h - the built-in async actions (process_data, generate_report, delay, echo_async) as handler-ABI handlers. */
#ifndef STREAMER_HANDLERS_ASYNC_H
#define STREAMER_HANDLERS_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#include <streamer/handler.h>

/*
 * Each built-in action has exactly one validate function, used by the worker
 * before it queues a request and by the processor before it runs it, and a
 * run function that gets a struct streamer_ctx like any plugin. None of them
 * touches the store: generate_report reads the tenant's activity through a
 * callback the host supplies in ctx->host (a struct async_host, or NULL when
 * the host has none, and then generate_report fails cleanly).
 *
 * Payloads (every field optional unless said otherwise; unknown fields are
 * refused, so typos do not pass silently):
 *
 * process_data {"items": [object, ...] (required, at most
 *   PROCESS_DATA_MAX_ITEMS), "operations": [op, ...] (required, 1 to
 *   PROCESS_DATA_MAX_OPS)}, applied in order to a copy of items; op is one of
 *   {"type":"filter", "field", "op": eq|ne|gt|gte|lt|lte|contains, "value"}
 *   {"type":"transform", "field", "op": upper|lower|trim|multiply|add|round,
 *    "value" (a number for multiply/add; decimals 0-10 for round, default 0;
 *    absent otherwise)}
 *   {"type":"aggregate", "group_by"?, "field" (not needed by count),
 *    "fn": count|sum|avg|min|max} -> one row per group
 *   {"type":"sort", "field", "order": asc|desc (default asc)} (stable)
 *   {"type":"deduplicate", "fields"?: [name, ...]} (keeps first occurrences)
 *   -> {"data": [...], "stats": {...}}. Semantics in handlers_async_data.c.
 * generate_report {"start_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD"
 *   (both required, real calendar dates, end >= start, at most
 *   REPORT_MAX_DAYS days inclusive), "format": "csv"|"json" (default json)}
 *   -> {"format", "file" (its name in ctx->output_dir), "url" (url_prefix +
 *   file, for the web server to serve), "rows", "bytes", "start_date",
 *   "end_date", "tenant_id", "generated_at", "summary"}. The file is written
 *   under a temporary name and renamed when complete, so a file with the
 *   final name is always whole; a cancelled or failed run leaves nothing.
 *   Connection rows carry no id (a connection id is a credential of its
 *   owner): only time, user and duration. The tenant's stored report files
 *   are counted first: at host->report_quota_bytes or more the run fails
 *   with RATE_LIMITED and writes nothing. Names are
 *   report-<tenant, reduced>-<start>_<end>-<tenant key>-<32 hex>.<ext>:
 *   the tenant key (16 hex digits of SHA-256 of the tenant id) is what the
 *   quota counts by, the 32 hex digits are 128 random bits.
 * delay {"seconds": 0-DELAY_MAX_SECONDS (default 5, fractions allowed),
 *   "steps": 1-DELAY_MAX_STEPS (default 10)} -> {"seconds", "steps",
 *   "elapsed_ms"}; progress before each step; stops within ~50 ms of a
 *   cancel.
 * echo_async any payload -> the payload itself.
 */

#define PROCESS_DATA_MAX_ITEMS 10000
#define PROCESS_DATA_MAX_OPS 20
#define PROCESS_DATA_MAX_FIELD 128   /* bytes of a field name */
#define REPORT_MAX_DAYS 366
#define DELAY_MAX_SECONDS 300
#define DELAY_MAX_STEPS 100

/* The built-in async handlers, terminated by an entry whose name is NULL. */
extern const struct streamer_handler handlers_async_table[];

/* The built-in handler of action name, or NULL. */
const struct streamer_handler *handlers_async_find(const char *name);

/* ---- what generate_report reads ------------------------------------------- */

/*
 * The rows are the store's (struct store_activity_row, store.h; strings
 * borrowed for the duration of the callback). generate_report checks that
 * each row's tenant_id is the report's (a mismatch fails the report) and
 * never writes a connection's id.
 */

/* Receives one row; returns 0 to go on, non-zero to stop the listing. */
typedef int (*activity_row_fn)(void *arg, const struct store_activity_row *row);

/*
 * Lists the activity of tenant_id with from_ms <= at_ms < until_ms in
 * ascending at_ms order, calling emit for each row. Returns 0 when done or
 * when emit asked to stop, or -1 with a reason in err.
 */
typedef int (*activity_fn)(void *src, const char *tenant_id, int64_t from_ms,
				int64_t until_ms, activity_row_fn emit, void *emit_arg, char *err,
				size_t errlen);

/* What the host lends the built-in handlers, as ctx->host. */
struct async_host {
	activity_fn activity;   /* NULL: generate_report fails ("no activity source") */
	void *activity_src;
	const char *url_prefix;      /* prefix of report download URLs; NULL = "/reports/" */
	int64_t report_quota_bytes;  /* report bytes a tenant may have stored (0 = no cap) */
};

/* generate_report's permission when STREAMER_REPORT_PERMISSION is not set. */
#define REPORT_PERMISSION_DEFAULT "reports"

/*
 * Deletes the report files (report-*.csv, report-*.json) directly in dir
 * whose modification time is before before_ms, and the temporaries of runs
 * that died (.report-*.tmp) modified before tmp_before_ms (pass a time no
 * run can still be writing at); other files, directories and links are
 * left alone. A missing dir has nothing to delete. Returns 0 with the count
 * in *removed, or -1 with a reason in err (*removed then counts what was
 * deleted before the failure).
 */
int report_gc(const char *dir, int64_t before_ms, int64_t tmp_before_ms, int *removed,
		   char *err, size_t errlen);

#endif
