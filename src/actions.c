/* actions.c - the one registry of client actions: the built-in table, the loaded plugins and exec actions, and who owns a name. */
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "config.h"
#include "exec_handler.h"
#include "handlers.h"
#include "handlers_async.h"
#include "plugin.h"
#include "util.h"

/* The built-in sync actions. */
static const struct builtin {
	const char *name;
	action_fn fn;
	const char *permission; /* NULL = any authenticated client */
	int writes;             /* stores something: runs in a write transaction */
} builtins[] = {
	{ "echo", action_echo, NULL, 0 },
	{ "health", action_health, NULL, 0 },
	{ "whoami", action_whoami, NULL, 0 },
	{ "subscribe", action_subscribe, NULL, 1 },
	{ "unsubscribe", action_unsubscribe, NULL, 1 },
	{ "publish", action_publish, "publish", 1 },
	{ "presence", action_presence, NULL, 0 },
	{ "presence.count", action_presence_count, NULL, 0 },
	{ "request.status", action_request_status, NULL, 0 },
	{ "request.cancel", action_request_cancel, NULL, 1 },
	{ "auth.refresh", action_auth_refresh, NULL, 1 },
	{ "history", action_history, NULL, 0 },
	{ "streams.recover", action_streams_recover, NULL, 0 },
};

/* Process state, made once by actions_load. */
static struct plugin_set *plugins;
static struct exec_actions *execs;
/* generate_report's permission (STREAMER_REPORT_PERMISSION): owned copy, NULL = none; the default until loaded. */
static char *report_permission;
static int report_permission_set;

static const struct builtin *builtin_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

/* Who owns name already, for the load-time clash checks (NULL = free). */
static const char *taken_by_builtin(void *arg, const char *name)
{
	(void)arg;
	if (builtin_find(name))
		return "a built-in action";
	if (handlers_async_find(name))
		return "a built-in async action";
	return NULL;
}

static const char *taken_by_any(void *arg, const char *name)
{
	const char *t = taken_by_builtin(arg, name);

	if (!t && plugin_set_find(plugins, name))
		return "a plugin of STREAMER_PLUGINS";
	return t;
}

int actions_load(const struct config *cfg, char *err, size_t errlen)
{
	actions_free();
	report_permission = cfg->report_permission ? xstrdup(cfg->report_permission) : NULL;
	report_permission_set = 1;
	if (plugin_set_load(&plugins, cfg->plugins, taken_by_builtin, NULL, err, errlen) < 0 ||
	    exec_actions_load(&execs, cfg->exec_actions, NULL, taken_by_any, NULL, err, errlen) < 0) {
		actions_free();
		return -1;
	}
	return 0;
}

void actions_free(void)
{
	exec_actions_free(execs);
	execs = NULL;
	plugin_set_free(plugins);
	plugins = NULL;
	free(report_permission);
	report_permission = NULL;
	report_permission_set = 0;
}

int actions_find(const char *name, struct action *out)
{
	const struct builtin *b = builtin_find(name);
	struct action a = { .writes = 1 };

	if (b) {
		a.kind = ACTION_BUILTIN;
		a.name = b->name;
		a.fn = b->fn;
		a.permission = b->permission;
		a.writes = b->writes;
	} else if ((a.handler = handlers_async_find(name)) != NULL) {
		a.kind = ACTION_BUILTIN_ASYNC;
	} else if ((a.handler = plugin_set_find(plugins, name)) != NULL) {
		a.kind = ACTION_PLUGIN;
	} else if ((a.handler = exec_actions_find(execs, name)) != NULL) {
		a.kind = ACTION_EXEC;
	} else {
		return 0;
	}
	if (a.handler) {
		a.name = a.handler->name;
		a.permission = a.handler->permission;
		if (a.kind == ACTION_BUILTIN_ASYNC && strcmp(a.name, "generate_report") == 0)
			a.permission = report_permission_set ? report_permission
							     : REPORT_PERMISSION_DEFAULT;
	}
	if (out)
		*out = a;
	return 1;
}

const struct streamer_handler *actions_handler(const char *name)
{
	struct action a;

	return actions_find(name, &a) ? a.handler : NULL;
}
