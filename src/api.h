/* api.h - the server HTTP API (/api/v1/…) for the application's other services: send, broadcast, close, connections, presence, history, batch. */
#ifndef STREAMER_API_H
#define STREAMER_API_H

#include <stdio.h>

#include "app.h"
#include "http.h"

/*
 * The route of path when it is a server API path, "…/api/v1/<route>" (a
 * deployment may mount it under a prefix; one trailing slash is ignored):
 * a pointer to <route> inside path, "" for "…/api/v1/" itself. NULL when
 * path is not under /api/v1/.
 */
const char *api_route_of(const char *path);

/*
 * Serves one server API request (api_route_of(req->path) is non-NULL).
 * Authenticates it first: Authorization: Bearer <one of STREAMER_API_KEY>
 * (compared in constant time) opens every tenant; a JWT verified like a
 * client's whose permissions hold STREAMER_API_PERMISSION opens its own
 * tenant only. Then runs the route (docs/protocol.md, "Server API"; docs/api.yaml).
 * Always fills resp with JSON: the route's answer, or
 * {"error":{"code","message"[,"field"]}} with the status of the code
 * (401 no or bad credentials, 403 a JWT without the permission or another
 * tenant, 404 unknown route or target, 405 wrong method, 413 body over
 * STREAMER_API_MAX_BODY, 400 anything malformed, naming the field). Logs
 * one "api_call" line per request, never the key or the token.
 */
void api_handle(struct app *app, struct request *req, struct response *resp);

/* Prints "METHOD /api/v1/<route>" for every route, one per line (streamer-fcgi --api-routes). */
void api_print_routes(FILE *to);

#endif
