/* tap.h - a tiny test runner: each test runs in its own process, results are TAP on stdout. */
#ifndef STREAMER_TAP_H
#define STREAMER_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
};

#define TAP_TEST(fn) { #fn, fn }

/* Fails the current test (its process) with the place and the text given. */
#define CHECK(cond) do { \
	if (!(cond)) { \
		printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		fflush(stdout); _exit(1); \
	} \
} while (0)

#define CHECK_INT(a, b) do { \
	long long tap_a_ = (long long)(a), tap_b_ = (long long)(b); \
	if (tap_a_ != tap_b_) { \
		printf("# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
		       #a, tap_a_, #b, tap_b_); \
		fflush(stdout); _exit(1); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *tap_a_ = (a), *tap_b_ = (b); \
	if (!tap_a_ || !tap_b_ || strcmp(tap_a_, tap_b_) != 0) { \
		printf("# %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
		       #a, tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)"); \
		fflush(stdout); _exit(1); \
	} \
} while (0)

/* Runs every test in a child process and prints one TAP line each. Returns the exit status for main. */
static inline int tap_run(const struct tap_test *tests, size_t n)
{
	int failed = 0;

	printf("1..%zu\n", n);
	fflush(stdout);
	for (size_t i = 0; i < n; i++) {
		pid_t pid = fork();
		int status = 0;

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			tests[i].fn();
			fflush(stdout);
			exit(0);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %zu - %s\n", i + 1, tests[i].name);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("# killed by signal %d\n", WTERMSIG(status));
			printf("not ok %zu - %s\n", i + 1, tests[i].name);
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

#define TAP_MAIN(...) \
	int main(void) { \
		static const struct tap_test tap_tests_[] = { __VA_ARGS__ }; \
		return tap_run(tap_tests_, sizeof(tap_tests_) / sizeof(tap_tests_[0])); \
	}

#endif
