/* tmpdir.h - a fresh temporary directory for a unit test ($TMPDIR or /tmp) and its removal. */
#ifndef STREAMER_TMPDIR_H
#define STREAMER_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

/* Room for any directory tmpdir_make makes, with a file name under it. */
#define TMPDIR_MAX 4096

/*
 * Makes a new directory "<base>/<name>.XXXXXX" (mode 0700) and writes its
 * path into dir[0..size). Fails the test when the path does not fit or the
 * directory cannot be made.
 */
static inline void tmpdir_make_in(char *dir, size_t size, const char *base, const char *name)
{
	int n = snprintf(dir, size, "%s/%s.XXXXXX", base, name);

	CHECK(n > 0 && (size_t)n < size);
	CHECK(mkdtemp(dir) != NULL);
}

/* tmpdir_make_in with base $TMPDIR, or /tmp when TMPDIR is unset or empty. */
static inline void tmpdir_make(char *dir, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");

	tmpdir_make_in(dir, size, base && *base ? base : "/tmp", name);
}

/*
 * Removes path and, when it is a directory, everything below it (symbolic
 * links are removed, never followed). Returns 0, or -1 when something could
 * not be removed (the rest is still tried).
 */
static inline int tmpdir_remove(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : -1;
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char sub[TMPDIR_MAX + 256];
		int n;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		if (n < 0 || (size_t)n >= sizeof sub || tmpdir_remove(sub) != 0)
			rc = -1;
	}
	closedir(d);
	return rmdir(path) == 0 ? rc : -1;
}

#endif
