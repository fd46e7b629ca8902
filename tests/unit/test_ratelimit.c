/* test_ratelimit.c - the shared token buckets: burst, refill, retry_after_ms, slot reuse, processes sharing one table. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ratelimit.h"
#include "tap.h"
#include "tmpdir.h"
#include "util.h"

#define SEC 1000000LL

static char path[TMPDIR_MAX + 16];

static struct ratelimit *setup(void)
{
	char dir[TMPDIR_MAX], err[256];
	struct ratelimit *rl;

	tmpdir_make(dir, sizeof dir, "test_ratelimit");
	snprintf(path, sizeof path, "%s/t.ratelimit", dir);
	rl = ratelimit_open(path, err, sizeof err);
	CHECK(rl != NULL);
	return rl;
}

static void teardown(struct ratelimit *rl)
{
	ratelimit_close(rl);
	*strrchr(path, '/') = '\0';
	CHECK(tmpdir_remove(path) == 0);
}

static int64_t take(struct ratelimit *rl, const char *id, int64_t rate, int64_t burst, int64_t now)
{
	return ratelimit_take(rl, id, strlen(id), rate, burst, now);
}

/* A full bucket lets the burst through at once, then refuses with the wait for one token. */
static void test_burst_then_retry_after(void)
{
	struct ratelimit *rl = setup();
	int64_t t = 1000 * SEC;

	for (int i = 0; i < 100; i++)
		CHECK_INT(take(rl, "c1", 50, 100, t), 0);
	/* One token per 20 ms at 50/s. */
	CHECK_INT(take(rl, "c1", 50, 100, t), 20);
	CHECK_INT(take(rl, "c1", 50, 100, t + 15000), 5);
	CHECK_INT(take(rl, "c1", 50, 100, t + 19999), 1);
	CHECK_INT(take(rl, "c1", 50, 100, t + 20000), 0);
	CHECK_INT(take(rl, "c1", 50, 100, t + 20000), 20);
	/* Another connection has its own bucket. */
	CHECK_INT(take(rl, "c2", 50, 100, t), 0);
	teardown(rl);
}

/* Tokens come back at the rate, never above the burst. */
static void test_refill_is_capped_at_the_burst(void)
{
	struct ratelimit *rl = setup();
	int64_t t = 1000 * SEC;
	int n = 0;

	for (int i = 0; i < 10; i++)
		CHECK_INT(take(rl, "c", 10, 10, t), 0);
	CHECK(take(rl, "c", 10, 10, t) > 0);
	/* Half a second at 10/s: 5 tokens. */
	t += SEC / 2;
	while (take(rl, "c", 10, 10, t) == 0)
		n++;
	CHECK_INT(n, 5);
	/* An hour later the bucket holds the burst, not 36,000 tokens. */
	t += 3600 * SEC;
	n = 0;
	while (take(rl, "c", 10, 10, t) == 0)
		n++;
	CHECK_INT(n, 10);
	/* A slow rate gives a wait of seconds: 1/s after an empty bucket. */
	CHECK_INT(take(rl, "c", 1, 10, t), 1000);
	teardown(rl);
}

/* Off: no table or a zero rate lets everything through. */
static void test_off(void)
{
	struct ratelimit *rl = setup();

	for (int i = 0; i < 1000; i++) {
		CHECK_INT(ratelimit_take(NULL, "c", 1, 1, 1, SEC), 0);
		CHECK_INT(take(rl, "c", 0, 1, SEC), 0);
	}
	teardown(rl);
}

/* A bucket dated in the future (the monotonic clock restarted with a reboot) starts full. */
static void test_clock_going_back_starts_full(void)
{
	struct ratelimit *rl = setup();

	for (int i = 0; i < 5; i++)
		CHECK_INT(take(rl, "c", 1, 5, 5000 * SEC), 0);
	CHECK(take(rl, "c", 1, 5, 5000 * SEC) > 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(take(rl, "c", 1, 5, 10 * SEC), 0);
	CHECK(take(rl, "c", 1, 5, 10 * SEC) > 0);
	teardown(rl);
}

/*
 * More connections over time than the table holds: buckets that refilled
 * make room for new ones, and every live bucket keeps limiting.
 */
static void test_many_connections_and_reuse(void)
{
	struct ratelimit *rl = setup();
	int64_t t = 1000 * SEC;
	char id[32];

	/* Five waves of 1/4 of the table (more than it holds), 3 s apart (a burst of 2 at 1/s refills in 2 s). */
	for (int w = 0; w < 5; w++, t += 3 * SEC) {
		int limited = 0;

		for (int i = 0; i < RATELIMIT_SLOTS / 4; i++) {
			snprintf(id, sizeof id, "w%d-%d", w, i);
			CHECK_INT(take(rl, id, 1, 2, t), 0);
			CHECK_INT(take(rl, id, 1, 2, t), 0);
			limited += take(rl, id, 1, 2, t) > 0;
		}
		CHECK_INT(limited, RATELIMIT_SLOTS / 4);
		/* After the whole wave, each of its buckets is still there and empty. */
		limited = 0;
		for (int i = 0; i < RATELIMIT_SLOTS / 4; i++) {
			snprintf(id, sizeof id, "w%d-%d", w, i);
			limited += take(rl, id, 1, 2, t + 1000) > 0;
		}
		CHECK_INT(limited, RATELIMIT_SLOTS / 4);
	}
	teardown(rl);
}

/*
 * Four processes share one table and one connection's bucket: together they
 * get exactly the burst through, as one process would. Then a process killed
 * while holding a slot's lock does not block the others.
 */
static void test_processes_share_buckets(void)
{
	struct ratelimit *rl = setup();
	int64_t t = 1000 * SEC;
	int fds[2], total = 0;
	pid_t kids[4];

	CHECK(pipe(fds) == 0);
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		CHECK(kids[k] >= 0);
		if (kids[k] == 0) {
			char err[256];
			struct ratelimit *mine = ratelimit_open(path, err, sizeof err);
			unsigned char passed = 0;

			CHECK(mine != NULL);
			for (int i = 0; i < 100; i++)
				passed += take(mine, "shared", 1, 120, t) == 0;
			CHECK(write(fds[1], &passed, 1) == 1);
			ratelimit_close(mine);
			_exit(0);
		}
	}
	close(fds[1]);
	for (int k = 0; k < 4; k++) {
		unsigned char passed;
		int status;

		CHECK(read(fds[0], &passed, 1) == 1);
		total += passed;
		CHECK(waitpid(kids[k], &status, 0) == kids[k]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fds[0]);
	CHECK_INT(total, 120);
	/* The parent sees the same empty bucket. */
	CHECK(take(rl, "shared", 1, 120, t) > 0);
	teardown(rl);
}

/* A lock word naming a process that is gone is taken over at once. */
static void test_dead_holder_is_taken_over(void)
{
	struct ratelimit *rl = setup();
	pid_t kid = fork();
	int status;

	CHECK(kid >= 0);
	if (kid == 0)
		_exit(0);
	CHECK(waitpid(kid, &status, 0) == kid);
	CHECK_INT(take(rl, "x", 1, 1, SEC), 0);
	CHECK(take(rl, "x", 1, 1, SEC) > 0);
	{
		/* Plant the dead pid as the holder of every slot, as if it died holding them. */
		FILE *f = fopen(path, "r+b");

		CHECK(f != NULL);
		for (long i = 0; i < RATELIMIT_SLOTS; i++) {
			uint32_t pid = (uint32_t)kid;

			CHECK(fseek(f, 64 + i * 32, SEEK_SET) == 0);
			CHECK(fwrite(&pid, sizeof pid, 1, f) == 1);
		}
		CHECK(fclose(f) == 0);
	}
	/* Still limited (a lock given up on would let it pass). */
	CHECK(take(rl, "x", 1, 1, SEC) > 0);
	teardown(rl);
}

TAP_MAIN(
	TAP_TEST(test_burst_then_retry_after),
	TAP_TEST(test_refill_is_capped_at_the_burst),
	TAP_TEST(test_off),
	TAP_TEST(test_clock_going_back_starts_full),
	TAP_TEST(test_many_connections_and_reuse),
	TAP_TEST(test_processes_share_buckets),
	TAP_TEST(test_dead_holder_is_taken_over),
)
