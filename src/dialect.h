/* dialect.h - the two ingress dialects: Pushpin WebSocket-over-HTTP and plain HTTP. */
#ifndef STREAMER_DIALECT_H
#define STREAMER_DIALECT_H

#include "app.h"
#include "http.h"

#define WSE_CONTENT_TYPE "application/websocket-events"

/*
 * Serves a Pushpin request (Content-Type application/websocket-events): every
 * event of the batch in order, answered with events in resp (status 200 and
 * the exact content type), or a non-200 status for a refused OPEN or a
 * malformed body.
 */
void dialect_ws(struct app *app, struct request *req, struct response *resp);

/*
 * Serves plain HTTP: POST …/connect, …/message, …/disconnect (the last path
 * segment decides) with X-Connection-Id, and GET …/healthz. Answers JSON.
 */
void dialect_http(struct app *app, struct request *req, struct response *resp);

/* The last segment of path ("/a/b/connect" → "connect"); borrowed from path. */
const char *path_last_segment(const char *path);

#endif
