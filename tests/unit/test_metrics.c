/* test_metrics.c - host-wide metrics: counters and histograms across processes, the Prometheus exposition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "tap.h"
#include "tmpdir.h"
#include "util.h"

static char path[TMPDIR_MAX + 16];

static void setup(void)
{
	char dir[TMPDIR_MAX], err[256];

	tmpdir_make(dir, sizeof dir, "test_metrics");
	snprintf(path, sizeof path, "%s/m.metrics", dir);
	CHECK(metrics_open(path, err, sizeof err) == 0);
}

static void teardown(void)
{
	metrics_close();
	*strrchr(path, '/') = '\0';
	CHECK(tmpdir_remove(path) == 0);
}

static char *render(void)
{
	struct buf b = { 0 };

	metrics_render(&b);
	buf_append(&b, "", 0);
	return b.data;
}

static void test_without_a_file_updates_are_no_ops(void)
{
	struct buf b = { 0 };

	metrics_add("streamer_messages_total", "action=\"echo\"", 1);
	metrics_observe("streamer_event_duration_seconds", NULL, 5);
	metrics_render(&b);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void test_counters(void)
{
	char *t;

	setup();
	metrics_add("streamer_messages_total", "action=\"echo\",outcome=\"ok\"", 1);
	metrics_add("streamer_messages_total", "action=\"echo\",outcome=\"ok\"", 2);
	metrics_add("streamer_messages_total", "action=\"nope\",outcome=\"INVALID_ACTION\"", 1);
	metrics_add("streamer_connections_opened_total", NULL, 5);
	t = render();
	CHECK(strstr(t, "# TYPE streamer_messages_total counter\n"));
	CHECK(strstr(t, "streamer_messages_total{action=\"echo\",outcome=\"ok\"} 3\n"));
	CHECK(strstr(t, "streamer_messages_total{action=\"nope\",outcome=\"INVALID_ACTION\"} 1\n"));
	CHECK(strstr(t, "# HELP streamer_connections_opened_total Connections accepted.\n"));
	CHECK(strstr(t, "streamer_connections_opened_total 5\n"));
	CHECK(strstr(t, "streamer_metrics_dropped_total 0\n"));
	/* One # TYPE line per family. */
	CHECK(strstr(strstr(t, "# TYPE streamer_messages_total") + 1, "# TYPE streamer_messages_total") == NULL);
	free(t);
	teardown();
}

static void test_histogram(void)
{
	char *t;

	setup();
	metrics_observe("streamer_event_duration_seconds", "event=\"message\"", 300);     /* <= 0.0005 */
	metrics_observe("streamer_event_duration_seconds", "event=\"message\"", 700);     /* <= 0.001 */
	metrics_observe("streamer_event_duration_seconds", "event=\"message\"", 2000000); /* <= 2.5 */
	metrics_observe("streamer_event_duration_seconds", "event=\"message\"", 999000000); /* +Inf */
	metrics_observe("streamer_event_duration_seconds", "event=\"open\"", 100);
	t = render();
	CHECK(strstr(t, "# TYPE streamer_event_duration_seconds histogram\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"0.0005\"} 1\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"0.001\"} 2\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"1\"} 2\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"2.5\"} 3\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"300\"} 3\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"+Inf\"} 4\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_sum{event=\"message\"} 1001.001000\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_count{event=\"message\"} 4\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_count{event=\"open\"} 1\n"));
	free(t);
	teardown();
}

/* The hot-path calls that take label names and values land in the same series as the label strings. */
static void test_label_pairs_same_series(void)
{
	char *t;

	setup();
	metrics_add("streamer_messages_total", "action=\"echo\",outcome=\"ok\"", 1);
	metrics_add_labels("streamer_messages_total", "action", "echo", "outcome", "ok", 2);
	metrics_add_labels("streamer_errors_total", "code", "RATE_LIMITED", NULL, NULL, 1);
	metrics_observe("streamer_event_duration_seconds", "event=\"message\"", 300);
	metrics_observe_label("streamer_event_duration_seconds", "event", "message", 700);
	t = render();
	CHECK(strstr(t, "streamer_messages_total{action=\"echo\",outcome=\"ok\"} 3\n"));
	CHECK(strstr(t, "streamer_errors_total{code=\"RATE_LIMITED\"} 1\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"0.0005\"} 1\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_bucket{event=\"message\",le=\"0.001\"} 2\n"));
	CHECK(strstr(t, "streamer_event_duration_seconds_count{event=\"message\"} 2\n"));
	CHECK(strstr(t, "streamer_metrics_dropped_total 0\n"));
	free(t);
	teardown();
}

/* A series key over the size limit is not stored: the update counts as dropped, once. */
static void test_over_long_key_dropped(void)
{
	char value[300], *t;

	setup();
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	metrics_add_labels("streamer_messages_total", "action", value, NULL, NULL, 1);
	metrics_observe_label("streamer_event_duration_seconds", "event", value, 5);
	t = render();
	CHECK(strstr(t, "streamer_metrics_dropped_total 2\n"));
	CHECK(strstr(t, "vvvvvvvv") == NULL);
	free(t);
	teardown();
}

/* Four processes update the same series at once: nothing is lost. */
static void test_processes_share_the_numbers(void)
{
	pid_t kids[4];
	char *t;

	setup();
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		CHECK(kids[k] >= 0);
		if (kids[k] == 0) {
			char lab[64];

			for (int i = 0; i < 20000; i++) {
				metrics_add("streamer_jobs_total", "action=\"echo_async\",outcome=\"ok\"", 1);
				snprintf(lab, sizeof lab, "code=\"C%d\"", i % 50);
				metrics_add("streamer_errors_total", lab, 1);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++) {
		int st;

		CHECK(waitpid(kids[k], &st, 0) == kids[k] && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	t = render();
	CHECK(strstr(t, "streamer_jobs_total{action=\"echo_async\",outcome=\"ok\"} 80000\n"));
	for (int i = 0; i < 50; i++) {
		char want[64];

		snprintf(want, sizeof want, "streamer_errors_total{code=\"C%d\"} 1600\n", i);
		CHECK(strstr(t, want));
	}
	free(t);
	/* A process that maps the file later sees the same numbers. */
	metrics_close();
	{
		char err[256];

		CHECK(metrics_open(path, err, sizeof err) == 0);
	}
	t = render();
	CHECK(strstr(t, "streamer_jobs_total{action=\"echo_async\",outcome=\"ok\"} 80000\n"));
	free(t);
	teardown();
}

static void test_full_file_counts_drops(void)
{
	char lab[64], *t;

	setup();
	for (int i = 0; i < METRICS_SLOTS + 10; i++) {
		snprintf(lab, sizeof lab, "code=\"X%d\"", i);
		metrics_add("streamer_errors_total", lab, 1);
	}
	t = render();
	CHECK(strstr(t, "streamer_metrics_dropped_total 10\n"));
	free(t);
	teardown();
}

static void test_foreign_file_is_refused(void)
{
	char err[256];
	FILE *f;

	setup();
	metrics_close();
	f = fopen(path, "r+");
	CHECK(f && fputs("NOTMINE!", f) >= 0 && fclose(f) == 0);
	CHECK(metrics_open(path, err, sizeof err) < 0);
	CHECK(strstr(err, "not a metrics file"));
	teardown();
}

TAP_MAIN(
	TAP_TEST(test_without_a_file_updates_are_no_ops),
	TAP_TEST(test_counters),
	TAP_TEST(test_histogram),
	TAP_TEST(test_label_pairs_same_series),
	TAP_TEST(test_over_long_key_dropped),
	TAP_TEST(test_processes_share_the_numbers),
	TAP_TEST(test_full_file_counts_drops),
	TAP_TEST(test_foreign_file_is_refused),
)
