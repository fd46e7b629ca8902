/* processor_child.c - the request process a processor slot forks for one request, and the frames it sends the slot. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "actions.h"
#include "processor_int.h"
#include "queue.h"
#include "request_run.h"
#include "util.h"

/* Largest frame a request process may send (a result). */
#define FRAME_MAX (64u << 20)

int frame_send(int fd, char type, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	unsigned char hdr[5];
	size_t n;
	int ret;

	if (!text)
		return -1;
	n = strlen(text);
	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(n >> 24);
	hdr[2] = (unsigned char)(n >> 16);
	hdr[3] = (unsigned char)(n >> 8);
	hdr[4] = (unsigned char)n;
	ret = write_all(fd, hdr, sizeof hdr) < 0 || write_all(fd, text, n) < 0 ? -1 : 0;
	free(text);
	return ret;
}

char frame_recv(int fd, json_t **j)
{
	unsigned char hdr[5];
	uint32_t n;
	char *text;

	*j = NULL;
	if (read_all(fd, hdr, sizeof hdr) < 0)
		return 0;
	n = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
	if (n > FRAME_MAX)
		return 0;
	text = xmalloc((size_t)n + 1);
	if (read_all(fd, text, n) < 0) {
		free(text);
		return 0;
	}
	*j = json_loadb(text, n, JSON_DECODE_ANY, NULL);
	free(text);
	return *j ? (char)hdr[0] : 0;
}

/* The handler's progress: a 'P' frame, then the slot's answer (1 to go on, 0 to stop). */
static int child_progress(void *arg, int pct, const char *message, json_t *metadata)
{
	int fd = *(int *)arg;
	json_t *f = json_pack("{s:i,s:s?,s:O?}", "pct", pct, "message", message, "metadata",
			      metadata);
	char answer = 's';

	if (!f || frame_send(fd, 'P', f) < 0 || read_all(fd, &answer, 1) < 0)
		answer = 's';
	json_decref(f);
	return answer == 'c';
}

void processor_child(const struct config *cfg, const struct request_record *req, int64_t deadline,
		     int fd)
{
	struct request_sink sink = { child_progress, &fd };
	struct request_input in = {
		.id = req->id, .request_id = req->request_id, .action = req->action,
		.user_id = req->user_id, .tenant_id = req->tenant_id,
		.handler = actions_handler(req->action),
		.deadline_ms = deadline, .attempt = (int)req->attempts,
	};
	json_t *result = NULL, *f;
	char code[32] = "PROCESSING_FAILED", msg[512] = "";
	int ok;

	setpgid(0, 0); /* kill(-pid) then reaches whatever the handler starts */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	in.payload = json_loads(req->payload ? req->payload : "null", JSON_DECODE_ANY, NULL);
	if (!in.payload) {
		snprintf(msg, sizeof msg, "The stored payload is not JSON");
		ok = -1;
	} else if (request_validate(&in, msg, sizeof msg) < 0) {
		snprintf(code, sizeof code, "VALIDATION_ERROR");
		ok = -1;
	} else {
		ok = request_run(cfg, &in, &sink, &result, code, msg, sizeof msg);
	}
	if (ok == 0)
		f = json_incref(result ? result : json_null());
	else
		f = json_pack("{s:s,s:s}", "code", code, "message", msg[0] ? msg : "The handler failed");
	ok = f && frame_send(fd, ok == 0 ? 'R' : 'E', f) == 0;
	json_decref(f);
	json_decref(result);
	json_decref(in.payload);
	_exit(ok ? 0 : 1);
}
