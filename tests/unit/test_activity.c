/* test_activity.c - the host's pending per-connection counts: add and take, a full probe window, stale counts, processes sharing one table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "activity.h"
#include "shm.h"
#include "tap.h"
#include "tmpdir.h"
#include "util.h"

#define NOW 1700000000000LL

static char path[TMPDIR_MAX + 16];

static struct activity *setup(void)
{
	char dir[TMPDIR_MAX], err[256];
	struct activity *a;

	tmpdir_make(dir, sizeof dir, "test_activity");
	snprintf(path, sizeof path, "%s/t.activity", dir);
	a = activity_open(path, err, sizeof err);
	if (!a)
		printf("# %s\n", err);
	CHECK(a != NULL);
	return a;
}

static void teardown(struct activity *a)
{
	activity_close(a);
	*strrchr(path, '/') = '\0';
	CHECK(tmpdir_remove(path) == 0);
}

/* Takes id's counts and checks them. */
static void check_take(struct activity *a, const char *id, int64_t received, int64_t sent)
{
	int64_t r = -1, s = -1;

	activity_take(a, id, &r, &s);
	CHECK_INT(r, received);
	CHECK_INT(s, sent);
}

static void test_add_then_take(void)
{
	struct activity *a = setup();

	CHECK_INT(activity_add(a, "c1", 1, 1, NOW, 0), 0);
	CHECK_INT(activity_add(a, "c1", 1, 3, NOW + 1, 0), 0);
	CHECK_INT(activity_add(a, "c2", 5, 0, NOW, 0), 0);
	check_take(a, "c1", 2, 4);
	check_take(a, "c1", 0, 0);   /* taken: nothing left */
	check_take(a, "c2", 5, 0);
	check_take(a, "unknown", 0, 0);
	/* After a take the connection counts again from zero. */
	CHECK_INT(activity_add(a, "c1", 1, 1, NOW + 2, 0), 0);
	check_take(a, "c1", 1, 1);
	teardown(a);
}

/* Ids longer than any connection id are refused: the caller writes their counts itself. */
static void test_long_id_refused(void)
{
	struct activity *a = setup();
	char id[ACTIVITY_ID_MAX + 2];

	memset(id, 'x', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	CHECK_INT(activity_add(a, id, 1, 1, NOW, 0), -1);
	id[ACTIVITY_ID_MAX] = '\0';
	CHECK_INT(activity_add(a, id, 1, 1, NOW, 0), 0);
	check_take(a, id, 1, 1);
	teardown(a);
}

/* 20,000 connections at once: every one keeps its own exact counts. */
static void test_many_connections(void)
{
	struct activity *a = setup();
	char id[32];
	int bad = 0, refused = 0;

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 20000; i++) {
			snprintf(id, sizeof id, "conn-%d", i);
			refused += activity_add(a, id, 1, i % 7, NOW, 0) != 0;
		}
	CHECK_INT(refused, 0);
	for (int i = 0; i < 20000; i++) {
		int64_t r, s;

		snprintf(id, sizeof id, "conn-%d", i);
		activity_take(a, id, &r, &s);
		bad += r != 3 || s != 3 * (i % 7);
	}
	CHECK_INT(bad, 0);
	teardown(a);
}

/*
 * ACTIVITY_PROBE + 1 ids with one home slot: the last finds no room until
 * a slot's counts are taken, or are older than the stale horizon.
 */
static void test_full_window(void)
{
	struct activity *a = setup();
	char ids[ACTIVITY_PROBE + 1][32];
	uint32_t home = 0;
	int n = 0;

	for (long i = 0; n <= ACTIVITY_PROBE; i++) {
		char id[32];
		uint32_t h;

		snprintf(id, sizeof id, "w%ld", i);
		h = (uint32_t)hash64(id, strlen(id)) & (ACTIVITY_SLOTS - 1);
		if (n == 0)
			home = h;
		if (h == home)
			snprintf(ids[n++], sizeof ids[0], "%s", id);
	}
	for (int i = 0; i < ACTIVITY_PROBE; i++)
		CHECK_INT(activity_add(a, ids[i], 1, 0, NOW, NOW - 1000), 0);
	CHECK_INT(activity_add(a, ids[ACTIVITY_PROBE], 1, 0, NOW, NOW - 1000), -1);
	/* Existing ones still count. */
	CHECK_INT(activity_add(a, ids[0], 1, 0, NOW, NOW - 1000), 0);
	/* A taken slot is free again. */
	check_take(a, ids[5], 1, 0);
	CHECK_INT(activity_add(a, ids[ACTIVITY_PROBE], 1, 0, NOW, NOW - 1000), 0);
	check_take(a, ids[ACTIVITY_PROBE], 1, 0);
	CHECK_INT(activity_add(a, ids[5], 1, 0, NOW, NOW - 1000), 0);
	/* Counts last added before the horizon belong to an expired connection: dropped for room. */
	CHECK_INT(activity_add(a, ids[ACTIVITY_PROBE], 1, 0, NOW + 5000, NOW + 1), 0);
	check_take(a, ids[ACTIVITY_PROBE], 1, 0);
	teardown(a);
}

/* Four processes add to the same ids at once: the sums are exact. */
static void test_processes_share_counts(void)
{
	struct activity *a = setup();
	pid_t kids[4];
	int bad = 0;

	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		CHECK(kids[k] >= 0);
		if (kids[k] == 0) {
			char err[256], id[16];
			struct activity *mine = activity_open(path, err, sizeof err);
			int failed = !mine;

			for (int i = 0; i < 20000 && mine; i++) {
				snprintf(id, sizeof id, "s%d", i % 50);
				failed |= activity_add(mine, id, 1, 2, NOW, 0) != 0;
			}
			activity_close(mine);
			_exit(failed);
		}
	}
	for (int k = 0; k < 4; k++) {
		int status;

		CHECK(waitpid(kids[k], &status, 0) == kids[k]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i < 50; i++) {
		char id[16];
		int64_t r, s;

		snprintf(id, sizeof id, "s%d", i);
		activity_take(a, id, &r, &s);
		bad += r != 4 * 400 || s != 2 * 4 * 400;
	}
	CHECK_INT(bad, 0);
	teardown(a);
}

/* A private table (no file) works for one process; a file of another layout is refused. */
static void test_private_and_foreign_file(void)
{
	char err[256];
	struct activity *a = activity_open(NULL, err, sizeof err), *b;
	FILE *f;

	CHECK(a != NULL);
	CHECK_INT(activity_add(a, "p", 2, 2, NOW, 0), 0);
	check_take(a, "p", 2, 2);
	activity_close(a);

	a = setup();
	activity_close(a);
	f = fopen(path, "r+");
	CHECK(f != NULL);
	fputs("OTHER001", f);
	fclose(f);
	b = activity_open(path, err, sizeof err);
	CHECK(b == NULL);
	CHECK(strstr(err, "not a connection activity file") != NULL);
	teardown(NULL);
}

TAP_MAIN(
	TAP_TEST(test_add_then_take),
	TAP_TEST(test_long_id_refused),
	TAP_TEST(test_many_connections),
	TAP_TEST(test_full_window),
	TAP_TEST(test_processes_share_counts),
	TAP_TEST(test_private_and_foreign_file),
)
