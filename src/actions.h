/* actions.h - the one registry of client actions: built-in sync actions, built-in async handlers, plugins and exec actions, their permissions and start-up clash checks. */
#ifndef STREAMER_ACTIONS_H
#define STREAMER_ACTIONS_H

#include <stddef.h>

#include "call.h"

struct config;
struct streamer_handler;

/* Where an action comes from; a name belongs to at most one (actions_load refuses clashes). */
enum action_kind {
	ACTION_BUILTIN,       /* a built-in sync action: fn runs in the worker (handlers*.c) */
	ACTION_BUILTIN_ASYNC, /* a built-in handler-ABI action (handlers_async.c) */
	ACTION_PLUGIN,        /* a handler of a STREAMER_PLUGINS plugin (sync or async) */
	ACTION_EXEC,          /* a STREAMER_EXEC_ACTIONS command (always async) */
};

/* What the registry says about an action. Pointers borrowed: valid until actions_free. */
struct action {
	const char *name;
	enum action_kind kind;
	const char *permission; /* required permission, NULL = any authenticated client */
	action_fn fn;           /* ACTION_BUILTIN: its handler; NULL otherwise */
	const struct streamer_handler *handler; /* the others: validate, run and flags (STREAMER_HANDLER_ASYNC: queued for a processor); NULL for ACTION_BUILTIN */
	/*
	 * Whether the handler may write to the store: its message then runs in
	 * a write transaction (store_begin), else in a read snapshot
	 * (store_begin_read). 0 only for built-in actions known to read only;
	 * every handler-ABI action (it may queue a request) writes.
	 */
	int writes;
};

/*
 * Loads the configured actions of this process from cfg, once per process
 * (again: replaces them): the plugins of STREAMER_PLUGINS, then the exec
 * actions of STREAMER_EXEC_ACTIONS, and generate_report's permission
 * (STREAMER_REPORT_PERMISSION). A name may have one owner: a plugin action
 * named like a built-in one is refused ("... is already a built-in action"
 * or "a built-in async action"), an exec action also when a plugin has it
 * ("a plugin of STREAMER_PLUGINS"). Returns 0, or -1 with nothing loaded and
 * a one-line reason naming the variable at fault in err.
 */
int actions_load(const struct config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Unloads what actions_load loaded; only the built-in actions stay. */
void actions_free(void);

/*
 * Looks action name up: returns 1 and fills *out (out may be NULL) when it
 * is an action of this process, else 0. Before actions_load only the
 * built-in actions are known, generate_report needing
 * REPORT_PERMISSION_DEFAULT.
 */
int actions_find(const char *name, struct action *out);

/* The handler-ABI handler of action name (built-in async, plugin, exec), or NULL. */
const struct streamer_handler *actions_handler(const char *name);

#endif
