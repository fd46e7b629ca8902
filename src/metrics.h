/* metrics.h - Prometheus counters and histograms shared by every worker and processor on the host through one mmap'ed file. */
#ifndef STREAMER_METRICS_H
#define STREAMER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * Every process maps the same file (by default "<database>.metrics") and
 * adds to its counters with atomic instructions: no lock, no system call,
 * no database write per event. The numbers are the host's, not one
 * process's, and survive any process restart (they restart from zero only
 * when the file is removed). A series is a metric family name plus its
 * label pairs; the file holds up to METRICS_SLOTS series, and what does not
 * fit is counted in streamer_metrics_dropped_total.
 *
 * Label values come from the program (action names pass the action pattern
 * first, codes come from a fixed list), never raw client input, so the
 * number of series stays bounded.
 */
#define METRICS_SLOTS 8192

/*
 * Maps (creating it if needed) the metrics file at path. Safe to call
 * again (a no-op once mapped). Returns 0, or -1 with a reason in err. Until
 * it succeeds every metrics_* update is a no-op, so a process without
 * metrics still serves.
 */
int metrics_open(const char *path, char *err, size_t errlen);
void metrics_close(void);

/* The default metrics file for a STREAMER_DB value and STREAMER_HOST_DIR (store_host_file; caller frees). */
char *metrics_default_path(const char *db_path, const char *host_dir);

/*
 * Adds n to the counter family{labels}. labels is NULL or a label list as
 * in the exposition format without braces, e.g. "action=\"echo\",outcome=\"ok\"".
 */
void metrics_add(const char *family, const char *labels, int64_t n);

/*
 * metrics_add of family{name1="value1",name2="value2"} (name2 NULL: the
 * first label only), without the caller formatting the label list: for the
 * hot path. Values are written as given (no escaping), like labels above.
 */
void metrics_add_labels(const char *family, const char *name1, const char *value1,
			const char *name2, const char *value2, int64_t n);

/* Records one observation of us microseconds in the histogram family{labels}. */
void metrics_observe(const char *family, const char *labels, int64_t us);
/* metrics_observe of family{name="value"}, without the caller formatting the label. */
void metrics_observe_label(const char *family, const char *name, const char *value, int64_t us);

/*
 * Writes the Prometheus text exposition (version 0.0.4) of every series
 * into out, with # HELP and # TYPE for each family. Gauges read elsewhere
 * (the store's counts) are the caller's to append.
 */
void metrics_render(struct buf *out);

/* Calls fn for each stored series (name with labels, value; histograms per bucket). For `streamer stats`. */
void metrics_foreach(void (*fn)(const char *series, int64_t value, void *ctx), void *ctx);

#endif
