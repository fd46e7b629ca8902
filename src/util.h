/* util.h - allocation that aborts on OOM, byte buffers, time, randomness, and string, URL, UTF-8 and file helpers. */
#ifndef STREAMER_UTIL_H
#define STREAMER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Out-of-memory policy: every allocation goes through these wrappers, which
 * print one line and abort() when the allocator fails. A worker that cannot
 * allocate cannot answer anyway; multiwatch restarts it.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
/* Returns a new copy of s (NULL gives NULL). Caller frees. */
char *xstrdup(const char *s);
/* Returns a new NUL-terminated copy of the first n bytes of s. Caller frees. */
char *xstrndup(const char *s, size_t n);
/* Returns a new string: a followed by b. Caller frees. */
char *xstrcat2(const char *a, const char *b);

/*
 * A length-carrying byte buffer. data is always NUL-terminated after len
 * bytes (when data is non-NULL) so it can be handed to C string functions,
 * but it may also hold NUL bytes inside. Zero-initialise, then append;
 * buf_free releases the storage and leaves an empty buffer.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the storage to the caller (never NULL) and leaves b empty. */
char *buf_detach(struct buf *b);

/*
 * Writes all n bytes of p to fd, again after EINTR and short writes.
 * Returns 0, or -1 (errno set) when a write fails.
 */
int write_all(int fd, const void *p, size_t n);
/*
 * Reads exactly n bytes from fd into p, again after EINTR and short reads.
 * Returns 0, or -1 on an error or end of file before n bytes.
 */
int read_all(int fd, void *p, size_t n);

/* Wall clock in milliseconds since the Unix epoch. */
int64_t time_now_ms(void);

/* a + b, saturated at INT64_MAX (or INT64_MIN) instead of overflowing. */
int64_t int64_add_sat(int64_t a, int64_t b);
/* Monotonic clock in microseconds (arbitrary origin), for durations and deadlines. */
int64_t time_mono_us(void);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms into out (at least 25 bytes). */
void time_rfc3339(int64_t ms, char out[32]);

/* A 64-bit FNV-1a hash of s[0..n); never 0 (0 can mark an empty slot). */
uint64_t hash64(const char *s, size_t n);

/*
 * Fills p with n bytes from the kernel CSPRNG (small requests from a
 * per-process pool of its bytes, dropped in a forked child); aborts if it
 * cannot. Not for use from several threads at once.
 */
void random_bytes(void *p, size_t n);
/* Writes 2*n lowercase hex digits of n random bytes plus NUL into out. */
void random_hex(char *out, size_t n);

/* A growable array of owned strings. Zero-initialise; release with strvec_free. */
struct strvec {
	char **v;
	size_t n, cap;
};

/* Appends a copy of s. */
void strvec_push(struct strvec *sv, const char *s);
/* Frees every string and the array; leaves sv empty and reusable. */
void strvec_free(struct strvec *sv);
/* Sorts sv (strcmp order) and removes repeated strings. */
void strvec_dedup(struct strvec *sv);

/* Writes a printf-style message into err (errlen bytes, truncated) and returns -1: `return err_printf(...)`. */
int err_printf(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

/*
 * True when the byte strings are equal. Strings of different lengths are
 * unequal at once (a length is not a secret); equal lengths are compared in
 * time independent of where they differ.
 */
bool ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* True when every byte of s[0..n) is in [A-Za-z0-9] or in extra, and 1 <= n <= max. */
bool str_is_token(const char *s, size_t n, size_t max, const char *extra);

/* The value of hexadecimal digit c (either case), or -1 when c is not one. */
int hex_value(int c);

/*
 * Percent-decodes s[0..n) ('+' becomes space) into a new string, returned
 * with its length in *outlen. Returns NULL on a malformed escape or an
 * embedded NUL. Caller frees.
 */
char *url_decode(const char *s, size_t n, size_t *outlen) WUR;

/*
 * Finds parameter name in a query string ("a=1&b=2") and returns its decoded
 * value as a new string (caller frees), or NULL when absent or malformed.
 */
char *query_param(const char *query, const char *name) WUR;

/*
 * Reads a whole file into a new NUL-terminated buffer (caller frees) and
 * its length into *len. Returns NULL with errno set on failure, or when the
 * file is larger than max bytes (errno EFBIG).
 */
char *file_read(const char *path, size_t max, size_t *len) WUR;

/*
 * Appends s[0..n) to out as valid UTF-8: every byte that does not start a
 * well-formed sequence (overlong forms, surrogates and code points past
 * U+10FFFF included) becomes U+FFFD; an embedded NUL too. Valid text is
 * copied unchanged.
 */
void utf8_repair(struct buf *out, const char *s, size_t n);

/* True when s[0..n) is well-formed UTF-8 (as utf8_repair defines it) without a NUL byte. */
bool utf8_valid(const char *s, size_t n);

/* utf8_repair of the string s (NULL gives NULL) into a new string. Caller frees. */
char *utf8_repair_dup(const char *s);

/*
 * Appends s to out with the credentials of any URL in it masked as "***":
 * the user:password of "scheme://user:password@host", the values of query
 * parameters whose name is a credential (Authorization, token,
 * access_token, key, secret, password, signature, … and every X-Amz-*,
 * case-insensitively), and what follows "Bearer ". Everything else is
 * copied unchanged. For log lines.
 */
void str_redact_credentials(struct buf *out, const char *s);

/* True when str_redact_credentials would change s. */
bool str_has_credentials(const char *s);

#endif
