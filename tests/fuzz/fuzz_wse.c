/* fuzz_wse.c - libFuzzer target for wse_parse: any body, and each parsed batch re-encoded and parsed back the same. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"
#include "wse.h"

/* Re-encodes ev[0..n) as a body, the way the worker writes events. */
static void encode(struct buf *out, const struct wse_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ev[i].has_content)
			wse_put_content(out, ev[i].type, ev[i].data, ev[i].len);
		else
			wse_put(out, ev[i].type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wse_event *ev = NULL, *back = NULL;
	size_t n = 0, m = 0;
	struct buf body = { 0 };
	char why[128];

	if (wse_parse((const char *)data, size, &ev, &n, why, sizeof(why)) < 0) {
		/* The contract: nothing allocated, and a reason. */
		if (ev || n != 0 || !why[0])
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint16_t code;
		const char *reason;
		size_t rlen;

		if (ev[i].data < (const char *)data || ev[i].data + ev[i].len > (const char *)data + size)
			abort();
		if (ev[i].type == WSE_CLOSE && wse_close_code(&ev[i], &code, &reason, &rlen) &&
		    rlen + 2 != ev[i].len)
			abort();
	}
	/* What the parser accepted, written back, must parse to the same events. */
	encode(&body, ev, n);
	if (wse_parse(body.data ? body.data : "", body.len, &back, &m, why, sizeof(why)) < 0 || m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (back[i].type != ev[i].type || back[i].len != ev[i].len ||
		    back[i].has_content != ev[i].has_content ||
		    memcmp(back[i].data, ev[i].data, ev[i].len) != 0)
			abort();
	free(back);
	free(ev);
	buf_free(&body);
	return 0;
}
