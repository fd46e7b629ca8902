/* handlers_async_report.c - the generate_report action: a tenant's activity between two dates, written as CSV or JSON under the output directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "handlers_async_int.h"

#define DAY_MS 86400000LL
/* Hex digits of the tenant key in report names. */
#define REPORT_KEY_HEX 16
/* Rows between progress reports. */
#define PROGRESS_EVERY 500

/* ---- dates ----------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parses a real calendar date "YYYY-MM-DD" (1970-9999) into days since the epoch. */
static int parse_date(const char *s, size_t len, int64_t *days)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, leap;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

/* The parsed payload; strings borrowed. */
struct report_req {
	const char *start, *end, *format;
	int64_t start_day, end_day;
};

static int report_parse(json_t *payload, struct report_req *r, struct streamer_error *err)
{
	static const char *const keys[] = { "start_date", "end_date", "format", NULL };
	static const char *const formats[] = { "json", "csv", NULL };
	static const char *const dates[] = { "start_date", "end_date" };
	int64_t *days[] = { &r->start_day, &r->end_day };
	const char **strs[] = { &r->start, &r->end };

	if (ha_need_object(payload, "payload", err) < 0 || ha_only_keys(payload, "", keys, err) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(payload, dates[i]);

		if (!v)
			return ha_invalid(err, dates[i], "is required");
		if (!json_is_string(v) ||
		    parse_date(json_string_value(v), json_string_length(v), days[i]) < 0)
			return ha_invalid(err, dates[i], "expected a calendar date as YYYY-MM-DD (1970 or later)");
		*strs[i] = json_string_value(v);
	}
	if (r->end_day < r->start_day)
		return ha_invalid(err, "end_date", "must not be before start_date");
	if (r->end_day - r->start_day + 1 > REPORT_MAX_DAYS)
		return ha_invalid(err, "end_date", "the report would span %lld days, at most %d are allowed",
				  (long long)(r->end_day - r->start_day + 1), REPORT_MAX_DAYS);
	return ha_choice(payload, "", "format", formats, "json", &r->format, err);
}

int generate_report_validate(json_t *payload, struct streamer_error *err)
{
	struct report_req r;

	return report_parse(payload, &r, err);
}

/* ---- writing ------------------------------------------------------------------------ */

struct writer {
	struct streamer_ctx *ctx;
	const struct report_req *req;
	FILE *f;
	int csv;
	int64_t from_ms, until_ms;
	int64_t rows, connections, requests;
	int last_pct;
	json_t *by_status, *by_action, *by_user;
	int stop;                /* emit asked the source to stop */
	struct streamer_error *err;
};

/*
 * Writes one CSV field per RFC 4180: quoted when it holds a comma, quote,
 * CR or LF (quotes doubled). A text starting with = + - @ or a tab is
 * prefixed with ' so spreadsheets do not run it as a formula.
 */
static void csv_field(FILE *f, const char *s, int last)
{
	int quote;

	if (!s)
		s = "";
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		fputc('"', f);
	if (strchr("=+-@\t", s[0]) && s[0])
		fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	if (quote)
		fputc('"', f);
	fputc(last ? '\n' : ',', f);
}

static void count_in(json_t *map, const char *key)
{
	json_t *v;

	if (!key)
		return;
	v = json_object_get(map, key);
	json_object_set_new(map, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static int emit_row(void *arg, const struct store_activity_row *row)
{
	struct writer *w = arg;
	const char *id;
	char ts[32];
	int is_conn;

	if (streamer_should_stop(w->ctx)) {
		w->stop = 1;
		return 1;
	}
	if (row->tenant_id && strcmp(row->tenant_id, w->ctx->tenant_id) != 0) {
		streamer_fail(w->err, STREAMER_E_FAILED, NULL,
			      "The activity source returned a row of another tenant");
		w->stop = 2;
		return 1;
	}
	if (row->at_ms < w->from_ms || row->at_ms >= w->until_ms)
		return 0; /* outside the range: not part of this report */
	is_conn = row->kind && strcmp(row->kind, "connection") == 0;
	/* A connection id lets its holder act as that connection: never in a report. */
	id = is_conn ? NULL : row->id;
	time_rfc3339(row->at_ms, ts);
	if (w->csv) {
		char dur[24] = "";

		if (row->duration_ms >= 0)
			snprintf(dur, sizeof dur, "%lld", (long long)row->duration_ms);
		csv_field(w->f, ts, 0);
		csv_field(w->f, row->kind, 0);
		csv_field(w->f, id, 0);
		csv_field(w->f, row->user_id, 0);
		csv_field(w->f, row->action, 0);
		csv_field(w->f, row->status, 0);
		csv_field(w->f, dur, 1);
	} else {
		json_t *j = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:o}", "time", ts, "kind", row->kind,
				      "id", id, "user_id", row->user_id, "action", row->action,
				      "status", row->status, "duration_ms",
				      row->duration_ms >= 0 ? json_integer(row->duration_ms) : json_null());
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		if (!text) {
			streamer_fail(w->err, STREAMER_E_FAILED, NULL,
				      "An activity row is not valid UTF-8 text");
			w->stop = 2;
			return 1;
		}
		fprintf(w->f, "%s\n    %s", w->rows ? "," : "", text);
		free(text);
	}
	w->rows++;
	if (is_conn) {
		w->connections++;
	} else {
		w->requests++;
		count_in(w->by_status, row->status);
		count_in(w->by_action, row->action);
	}
	count_in(w->by_user, row->user_id);
	if (w->rows % PROGRESS_EVERY == 0) {
		/*
		 * Rows come in time order: the position in the range is the
		 * progress. Reported even when it did not move, since a progress
		 * call is also where the handler learns it was cancelled.
		 */
		int pct = 5 + (int)(85 * (row->at_ms - w->from_ms) / (w->until_ms - w->from_ms));
		char msg[64];

		if (pct > w->last_pct)
			w->last_pct = pct;
		snprintf(msg, sizeof msg, "%lld rows", (long long)w->rows);
		if (!w->ctx->progress(w->ctx, w->last_pct, msg, NULL)) {
			w->stop = 1;
			return 1;
		}
	}
	return 0;
}

/* Makes dir and its parents (mode 0750). */
static int mkdir_p(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0750) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

/* The tenant's key in report names: 16 hex digits of SHA-256 of the tenant id (what the quota counts by). */
static void tenant_key(const char *tenant, char out[REPORT_KEY_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(tenant, strlen(tenant), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < REPORT_KEY_HEX / 2) {
		/* Only an OpenSSL failure (out of memory): the process-wide OOM policy. */
		fputs("streamer: cannot hash a tenant id\n", stderr);
		abort();
	}
	for (int i = 0; i < REPORT_KEY_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[REPORT_KEY_HEX] = '\0';
}

/*
 * "report-<tenant>-<start>_<end>-<key>-<32 hex>.<ext>" (128 random bits: the
 * URL is the capability), the tenant reduced to [A-Za-z0-9_-], key from
 * tenant_key.
 */
static void report_name(struct buf *b, const char *tenant, const struct report_req *r)
{
	char rnd[33], key[REPORT_KEY_HEX + 1];
	size_t n = 0;

	random_hex(rnd, 16);
	tenant_key(tenant, key);
	buf_puts(b, "report-");
	for (const char *t = tenant; *t && n < 64; t++, n++) {
		char c = *t;

		buf_putc(b, (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				    c == '-' ? c : '_');
	}
	buf_printf(b, "-%s_%s-%s-%s.%s", r->start, r->end, key, rnd, r->format);
}

static int ends_with(const char *s, size_t len, const char *tail)
{
	size_t n = strlen(tail);

	return len >= n && memcmp(s + len - n, tail, n) == 0;
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Whether name is a finished report file of the tenant whose key is key. */
static int report_of(const char *name, const char *key)
{
	size_t len = strlen(name), base;

	if (strncmp(name, "report-", 7) != 0)
		return 0;
	if (ends_with(name, len, ".csv"))
		base = len - 4;
	else if (ends_with(name, len, ".json"))
		base = len - 5;
	else
		return 0;
	/* ...-<key>-<32 hex> before the extension */
	if (base < 7 + REPORT_KEY_HEX + 34)
		return 0;
	return name[base - 33] == '-' && all_hex(name + base - 32, 32) &&
	       name[base - 34 - REPORT_KEY_HEX] == '-' &&
	       memcmp(name + base - 33 - REPORT_KEY_HEX, key, REPORT_KEY_HEX) == 0;
}

/*
 * Adds up the sizes of the tenant's report files in dir into *bytes (a
 * missing dir holds none). Returns 0, or -1 with errno set.
 */
static int tenant_usage(const char *dir, const char *tenant, int64_t *bytes)
{
	char key[REPORT_KEY_HEX + 1];
	struct dirent *e;
	DIR *d;

	*bytes = 0;
	tenant_key(tenant, key);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (!report_of(e->d_name, key))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			*bytes += (int64_t)st.st_size;
	}
	closedir(d);
	return 0;
}

/* Fails with RATE_LIMITED when the tenant's stored reports reach the quota (0 = no cap). */
static int check_quota(struct streamer_ctx *ctx, int64_t quota, struct streamer_error *err)
{
	int64_t used;

	if (quota <= 0)
		return 0;
	if (tenant_usage(ctx->output_dir, ctx->tenant_id, &used) < 0)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not read the report directory: %s",
				     strerror(errno));
	if (used < quota)
		return 0;
	return streamer_fail(err, STREAMER_E_RATE_LIMITED, NULL,
			     "Report storage quota used up: this tenant's reports hold %lld of %lld bytes; "
			     "reports are deleted some time after they are made, try again later",
			     (long long)used, (long long)quota);
}

int report_gc(const char *dir, int64_t before_ms, int64_t tmp_before_ms, int *removed,
		   char *err, size_t errlen)
{
	struct dirent *e;
	DIR *d;
	int rc = 0;

	*removed = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		size_t len = strlen(n);
		struct stat st;
		int64_t mtime_ms;

		int tmp = strncmp(n, ".report-", 8) == 0 && ends_with(n, len, ".tmp");

		if (!tmp && !(strncmp(n, "report-", 7) == 0 &&
			      (ends_with(n, len, ".csv") || ends_with(n, len, ".json"))))
			continue;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		if (mtime_ms >= (tmp ? tmp_before_ms : before_ms))
			continue;
		if (unlinkat(dirfd(d), n, 0) < 0) {
			if (errno == ENOENT)
				continue; /* another gc was faster */
			snprintf(err, errlen, "cannot delete %s/%s: %s", dir, n, strerror(errno));
			rc = -1;
			break;
		}
		(*removed)++;
	}
	closedir(d);
	return rc;
}

int generate_report_run(struct streamer_ctx *ctx, json_t *payload, json_t **result,
			struct streamer_error *err)
{
	const struct async_host *host = ctx->host;
	struct report_req req;
	struct writer w = { .ctx = ctx, .req = &req, .err = err, .last_pct = 5 };
	struct buf name = { 0 }, path = { 0 }, tmp = { 0 };
	char why[256] = "", gen[32];
	struct stat st;
	int fd = -1, rc = -1, src, created = 0;

	if (report_parse(payload, &req, err) < 0)
		return -1;
	if (!host || !host->activity)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Reports are not available here (no activity source)");
	if (!ctx->output_dir || ctx->output_dir[0] != '/')
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Reports are not available here (no output directory)");
	if (ha_progress(ctx, 0, "Collecting activity", err) < 0)
		return -1;
	if (mkdir_p(ctx->output_dir) < 0)
		return streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not create the report directory: %s",
				     strerror(errno));
	if (check_quota(ctx, host->report_quota_bytes, err) < 0)
		return -1;

	report_name(&name, ctx->tenant_id, &req);
	buf_printf(&path, "%s/%s", ctx->output_dir, name.data);
	buf_printf(&tmp, "%s/.%s.tmp", ctx->output_dir, name.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd >= 0)
		created = 1;
	if (fd < 0 || !(w.f = fdopen(fd, "w"))) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not create the report file: %s",
			      strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	w.csv = strcmp(req.format, "csv") == 0;
	w.from_ms = req.start_day * DAY_MS;
	w.until_ms = (req.end_day + 1) * DAY_MS;
	w.by_status = json_object();
	w.by_action = json_object();
	w.by_user = json_object();
	time_rfc3339(time_now_ms(), gen);
	if (w.csv) {
		fputs("time,kind,id,user_id,action,status,duration_ms\n", w.f);
	} else {
		json_t *head = json_pack("{s:s,s:s,s:s,s:s}", "tenant_id", ctx->tenant_id, "start_date",
					 req.start, "end_date", req.end, "generated_at", gen);
		char *text = head ? json_dumps(head, JSON_COMPACT) : NULL;

		json_decref(head);
		if (!text) {
			streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not write the report header");
			goto out;
		}
		/* {"tenant_id":…,…,"rows":[ … ],"summary":{…}} written as it goes */
		text[strlen(text) - 1] = '\0';
		fprintf(w.f, "%s,\"rows\":[", text);
		free(text);
	}

	src = host->activity(host->activity_src, ctx->tenant_id, w.from_ms, w.until_ms, emit_row, &w,
			     why, sizeof why);
	if (w.stop == 2)
		goto out;
	if (w.stop == 1 || streamer_should_stop(ctx)) {
		ha_stopped(ctx, err);
		goto out;
	}
	if (src < 0) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not read the activity: %s",
			      why[0] ? why : "unknown error");
		goto out;
	}
	if (ha_progress(ctx, 95, "Writing the report", err) < 0)
		goto out;
	if (!w.csv) {
		json_t *sum = json_pack("{s:I,s:I,s:I,s:O,s:O,s:O}", "rows", (json_int_t)w.rows,
					"connections", (json_int_t)w.connections, "requests",
					(json_int_t)w.requests, "requests_by_status", w.by_status,
					"requests_by_action", w.by_action, "rows_by_user", w.by_user);
		char *text = sum ? json_dumps(sum, JSON_COMPACT) : NULL;

		json_decref(sum);
		fprintf(w.f, "%s],\"summary\":%s}\n", w.rows ? "\n" : "", text ? text : "null");
		free(text);
	}
	if (fflush(w.f) != 0 || ferror(w.f) || fsync(fileno(w.f)) < 0 || fstat(fileno(w.f), &st) < 0) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not write the report file: %s",
			      strerror(errno));
		goto out;
	}
	if (fclose(w.f) != 0) {
		w.f = NULL;
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not write the report file: %s",
			      strerror(errno));
		goto out;
	}
	w.f = NULL;
	if (rename(tmp.data, path.data) < 0) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not store the report file: %s",
			      strerror(errno));
		goto out;
	}
	created = 0; /* nothing left to remove */
	{
		struct buf url = { 0 };

		buf_printf(&url, "%s%s", host->url_prefix ? host->url_prefix : "/reports/", name.data);
		*result = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:{s:I,s:I,s:O,s:O}}",
				    "format", req.format, "file", name.data, "url", url.data, "rows", (json_int_t)w.rows,
				    "bytes", (json_int_t)st.st_size, "start_date", req.start,
				    "end_date", req.end, "tenant_id", ctx->tenant_id,
				    "generated_at", gen, "summary", "connections",
				    (json_int_t)w.connections, "requests", (json_int_t)w.requests,
				    "requests_by_status", w.by_status, "requests_by_action",
				    w.by_action);
		buf_free(&url);
	}
	if (!*result) {
		streamer_fail(err, STREAMER_E_FAILED, NULL, "Could not build the result");
		goto out;
	}
	rc = 0;
out:
	if (w.f)
		fclose(w.f);
	if (created)
		unlink(tmp.data);
	json_decref(w.by_status);
	json_decref(w.by_action);
	json_decref(w.by_user);
	buf_free(&name);
	buf_free(&path);
	buf_free(&tmp);
	return rc;
}
