/* router.h - dispatching one client message: the registry's lookup, then the checks applied before any handler runs. */
#ifndef STREAMER_ROUTER_H
#define STREAMER_ROUTER_H

#include <jansson.h>

#include "call.h"

/*
 * Routes one validated message: looks up the action in the registry
 * (actions.h; INVALID_ACTION "Unknown action: <name>"), checks the required
 * permission (FORBIDDEN), runs the action (a built-in sync action's handler,
 * or handler_abi_call for the others) and wraps its outcome as a response or
 * error message carrying the request id (or returns the handler's c->reply).
 * Returns a new reference to the outbound message.
 */
json_t *router_dispatch(struct call *c);

#endif
