/* util.c - allocation that aborts on OOM, growable byte buffers, time and randomness. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void oom(size_t n)
{
	/* Plain write: stdio may itself need memory. */
	static const char msg[] = "streamer: out of memory\n";
	(void)n;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more we can do */
	}
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);
	if (!p)
		oom(count * n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrcat2(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = xmalloc(na + nb + 1);

	memcpy(p, a, na);
	memcpy(p + na, b, nb + 1);
	return p;
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		oom(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *buf_detach(struct buf *b)
{
	char *p;

	if (!b->data)
		buf_reserve(b, 0), b->data[0] = '\0';
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int64_t int64_add_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 9999-12-31T23:59:59.999Z */
#define RFC3339_MAX_MS INT64_C(253402300799999)

/* Writes v as exactly width decimal digits (v >= 0, zero-padded). */
static void put_digits(char *p, int v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void time_rfc3339(int64_t ms, char out[32])
{
	/*
	 * Process state: the text of the last second formatted, since log lines
	 * and messages come many to a second. A fork's child may keep it: the
	 * text of a second never changes.
	 */
	static time_t cached_secs = -1;
	static char cached[20]; /* "YYYY-MM-DDTHH:MM:SS" */
	time_t secs;
	struct tm tm;

	/*
	 * RFC 3339 has four-digit years: clamp to 1970..9999 so the text is
	 * always 24 characters and fits the 25 bytes the header promises.
	 */
	if (ms < 0)
		ms = 0;
	if (ms > RFC3339_MAX_MS)
		ms = RFC3339_MAX_MS;
	secs = (time_t)(ms / 1000);
	if (secs != cached_secs) {
		if (!gmtime_r(&secs, &tm)) {
			memset(&tm, 0, sizeof(tm));
			tm.tm_year = 70;
			tm.tm_mday = 1;
		}
		put_digits(cached, tm.tm_year + 1900, 4);
		cached[4] = '-';
		put_digits(cached + 5, tm.tm_mon + 1, 2);
		cached[7] = '-';
		put_digits(cached + 8, tm.tm_mday, 2);
		cached[10] = 'T';
		put_digits(cached + 11, tm.tm_hour, 2);
		cached[13] = ':';
		put_digits(cached + 14, tm.tm_min, 2);
		cached[16] = ':';
		put_digits(cached + 17, tm.tm_sec, 2);
		cached[19] = '.';
		cached_secs = secs;
	}
	memcpy(out, cached, 20);
	put_digits(out + 20, (int)(ms % 1000), 3);
	out[23] = 'Z';
	out[24] = '\0';
}

/* Fills p with n bytes from getrandom(2); aborts if it cannot. */
static void kernel_random(void *p, size_t n)
{
	unsigned char *q = p;

	while (n > 0) {
		ssize_t got = getrandom(q, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "streamer: getrandom: %s\n", strerror(errno));
			abort();
		}
		q += got;
		n -= (size_t)got;
	}
}

/*
 * Kernel randomness fetched RANDOM_POOL bytes at a time: one getrandom(2)
 * serves many message ids and stream epochs instead of one system call
 * each. Every byte is handed out once and wiped; a forked child drops the
 * pool, so parent and child never hand out the same bytes.
 */
#define RANDOM_POOL 256
static unsigned char random_pool[RANDOM_POOL];
static size_t random_left;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void random_pool_drop(void)
{
	explicit_bzero(random_pool, sizeof random_pool);
	random_left = 0;
}

static void random_pool_init(void)
{
	pthread_atfork(NULL, NULL, random_pool_drop);
}

uint64_t hash64(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

void random_bytes(void *p, size_t n)
{
	unsigned char *from;

	pthread_once(&random_once, random_pool_init);
	if (n > RANDOM_POOL / 4) {
		kernel_random(p, n);
		return;
	}
	if (random_left < n) {
		kernel_random(random_pool, sizeof random_pool);
		random_left = sizeof random_pool;
	}
	from = random_pool + sizeof random_pool - random_left;
	memcpy(p, from, n);
	explicit_bzero(from, n);
	random_left -= n;
}

void random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];

	while (n > 0) {
		size_t chunk = n < sizeof(raw) ? n : sizeof(raw);
		random_bytes(raw, chunk);
		for (size_t i = 0; i < chunk; i++) {
			*out++ = hex[raw[i] >> 4];
			*out++ = hex[raw[i] & 15];
		}
		n -= chunk;
	}
	*out = '\0';
}

bool ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

bool str_is_token(const char *s, size_t n, size_t max, const char *extra)
{
	if (!s || n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c && extra && strchr(extra, c))
			continue;
		return false;
	}
	return true;
}

int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *url_decode(const char *s, size_t n, size_t *outlen)
{
	char *out = xmalloc(n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0') {
			free(out);
			return NULL;
		}
		out[j++] = c;
	}
	out[j] = '\0';
	if (outlen)
		*outlen = j;
	return out;
}

char *query_param(const char *query, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = query;

	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && p[nlen] == '=' && memcmp(p, name, nlen) == 0)
			return url_decode(p + nlen + 1, len - nlen - 1, NULL);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

char *file_read(const char *path, size_t max, size_t *len)
{
	struct buf b = {0};
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			buf_free(&b);
			errno = e;
			return NULL;
		}
		if (got == 0)
			break;
		if (b.len + (size_t)got > max) {
			close(fd);
			buf_free(&b);
			errno = EFBIG;
			return NULL;
		}
		buf_append(&b, chunk, (size_t)got);
	}
	close(fd);
	if (len)
		*len = b.len;
	return buf_detach(&b);
}

int err_printf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void strvec_push(struct strvec *sv, const char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 16;
		sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
	}
	sv->v[sv->n++] = xstrdup(s);
}

void strvec_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof *sv);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_dedup(struct strvec *sv)
{
	size_t kept = 0;

	if (sv->n < 2)
		return;
	qsort(sv->v, sv->n, sizeof *sv->v, strp_cmp);
	for (size_t i = 0; i < sv->n; i++) {
		if (kept && strcmp(sv->v[kept - 1], sv->v[i]) == 0)
			free(sv->v[i]);
		else
			sv->v[kept++] = sv->v[i];
	}
	sv->n = kept;
}

/* ---- UTF-8 repair and credential masking (log lines, stored fields) ---------- */

/* The length of the well-formed UTF-8 sequence at s[0..n), or 0 when there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
		     : (c & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t cp;

	if (len == 0 || len > n)
		return 0;
	if (len == 1)
		return c == 0 ? 0 : 1;
	cp = c & (0xff >> (len + 1));
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * The length of the longest prefix of s[0..n) that is valid UTF-8 without
 * NUL: ASCII eight bytes at a time, then sequence by sequence.
 */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
	const uint64_t high = UINT64_C(0x8080808080808080), low = UINT64_C(0x0101010101010101);
	size_t i = 0, len;
	uint64_t w;

	while (i < n) {
		/* A word without a high bit and without a zero byte is plain ASCII. */
		while (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & high) || ((w - low) & ~w & high))
				break;
			i += 8;
		}
		if (i == n)
			break;
		if ((len = utf8_seq_len(s + i, n - i)) == 0)
			break;
		i += len;
	}
	return i;
}

bool utf8_valid(const char *s, size_t n)
{
	return utf8_valid_prefix((const unsigned char *)s, n) == n;
}

void utf8_repair(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, ok;

	buf_reserve(out, n);
	while (i < n) {
		/* Valid text in one copy; each byte that starts no valid sequence becomes U+FFFD. */
		ok = utf8_valid_prefix(p + i, n - i);
		if (ok) {
			buf_append(out, p + i, ok);
			i += ok;
		}
		if (i < n) {
			buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
			i++;
		}
	}
	buf_append(out, "", 0); /* terminates, also when nothing was appended after the reserve */
}

char *utf8_repair_dup(const char *s)
{
	struct buf b = { 0 };
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	/* The common case, valid text: one exact allocation and one copy. */
	if (utf8_valid_prefix((const unsigned char *)s, n) == n)
		return xstrndup(s, n);
	utf8_repair(&b, s, n);
	return buf_detach(&b);
}

/* Query parameter names whose values are credentials (compared ignoring case). */
static const char *const credential_params[] = {
	"authorization", "auth", "token", "access_token", "id_token", "refresh_token", "jwt",
	"key", "api_key", "apikey", "secret", "client_secret", "password", "passwd", "pwd",
	"signature", "sig", "grip-sig", "session", "session_token", "credential",
};

static bool is_credential_param(const char *name, size_t n)
{
	if (n >= 6 && strncasecmp(name, "x-amz-", 6) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(credential_params); i++)
		if (strlen(credential_params[i]) == n && strncasecmp(name, credential_params[i], n) == 0)
			return true;
	return false;
}

/* Characters that end a URL part or a value inside free text. */
static bool ends_value(char c)
{
	return c == '\0' || c == '&' || c == '#' || c == ' ' || c == '\t' || c == '\r' ||
	       c == '\n' || c == '"' || c == '\'' || c == '<' || c == '>' || c == ',' || c == ';';
}

/*
 * Masks credentials in s; with out NULL only reports whether there are any.
 * Returns true when something was masked.
 */
static bool redact(struct buf *out, const char *s)
{
	bool found = false;
	size_t i = 0;

	while (s[i]) {
		/* The first byte is tested before each comparison: most positions start none. */
		if (s[i] == ':' && strncmp(s + i, "://", 3) == 0) {
			size_t a = i + 3, j = a, at = 0;

			while (!ends_value(s[j]) && s[j] != '/' && s[j] != '?')
				if (s[j++] == '@')
					at = j; /* just past the last '@' */
			if (out)
				buf_append(out, s + i, 3);
			i = a;
			if (at) {
				found = true;
				if (out)
					buf_puts(out, "***@");
				i = at;
			}
			continue;
		}
		if ((s[i] | 0x20) == 'b' && strncasecmp(s + i, "Bearer ", 7) == 0 && s[i + 7] &&
		    !ends_value(s[i + 7])) {
			found = true;
			if (out)
				buf_puts(out, "Bearer ***");
			i += 7;
			while (!ends_value(s[i]))
				i++;
			continue;
		}
		if (s[i] == '?' || s[i] == '&' || (i == 0 && s[i] != '=')) {
			size_t name = s[i] == '?' || s[i] == '&' ? i + 1 : i, j = name;

			while (!ends_value(s[j]) && s[j] != '=' && s[j] != '?' && s[j] != '/')
				j++;
			if (s[j] == '=' && is_credential_param(s + name, j - name)) {
				found = true;
				if (out) {
					buf_append(out, s + i, j + 1 - i);
					buf_puts(out, "***");
				}
				i = j + 1;
				while (!ends_value(s[i]))
					i++;
				continue;
			}
		}
		if (out)
			buf_putc(out, s[i]);
		i++;
	}
	return found;
}

void str_redact_credentials(struct buf *out, const char *s)
{
	redact(out, s ? s : "");
	buf_append(out, "", 0); /* data is a string even when s was empty */
}

bool str_has_credentials(const char *s)
{
	return s && redact(NULL, s);
}
