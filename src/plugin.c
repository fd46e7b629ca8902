/* plugin.c - loading handler plugins (STREAMER_PLUGINS) with dlopen and finding their actions. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "protocol.h"
#include "util.h"

/* One loaded shared object. */
struct plugin {
	char *path;
	void *dl;
	const struct streamer_plugin *desc;
	int initialised; /* init ran and succeeded: fini is due */
};

/* One action of a loaded plugin. */
struct plugin_entry {
	const struct streamer_handler *h;
	size_t plugin; /* index into plugins */
};

struct plugin_set {
	struct plugin *plugins;
	size_t nplugins;
	struct plugin_entry *entries;
	size_t nentries;
};


/* Checks one handler entry of a plugin. Returns 0, or -1 with a reason in why. */
static int handler_check(const struct streamer_handler *h, size_t i, char *why, size_t whylen)
{
	if (!str_is_token(h->name, strlen(h->name), PROTO_ACTION_MAX, "._-"))
		return err_printf(why, whylen, "handler %zu has an invalid action name '%.80s' (expected [A-Za-z0-9._-]{1,64})",
			    i, h->name);
	if (h->flags & ~STREAMER_HANDLER_FLAGS_KNOWN)
		return err_printf(why, whylen, "action '%s' sets unknown flags 0x%x", h->name,
			    h->flags & ~STREAMER_HANDLER_FLAGS_KNOWN);
	if (!h->run)
		return err_printf(why, whylen, "action '%s' has no run function", h->name);
	if (h->permission && !str_is_token(h->permission, strlen(h->permission), 128, "._:-"))
		return err_printf(why, whylen, "action '%s' has an invalid permission '%.80s'", h->name,
			    h->permission);
	return 0;
}

/* Where an action is already defined in ps (the file), or NULL. */
static const char *defined_in(const struct plugin_set *ps, const char *name)
{
	for (size_t i = 0; i < ps->nentries; i++)
		if (strcmp(ps->entries[i].h->name, name) == 0)
			return ps->plugins[ps->entries[i].plugin].path;
	return NULL;
}

/* Loads path as ps->plugins[ps->nplugins] and registers its handlers. */
static int load_one(struct plugin_set *ps, const char *path, plugin_taken_fn taken,
		    void *taken_arg, char *err, size_t errlen)
{
	struct plugin *p;
	const struct streamer_plugin *desc;
	char why[256];
	size_t first = ps->nentries, n = 0;

	if (path[0] != '/')
		return err_printf(err, errlen, "STREAMER_PLUGINS: %s: not an absolute path", path);
	for (size_t i = 0; i < ps->nplugins; i++)
		if (strcmp(ps->plugins[i].path, path) == 0)
			return err_printf(err, errlen, "STREAMER_PLUGINS: %s: listed twice", path);
	ps->plugins = xrealloc(ps->plugins, (ps->nplugins + 1) * sizeof *ps->plugins);
	p = &ps->plugins[ps->nplugins];
	memset(p, 0, sizeof *p);
	dlerror();
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		const char *e = dlerror();

		return err_printf(err, errlen, "STREAMER_PLUGINS: %s: cannot load: %s", path,
			    e ? e : "unknown error");
	}
	p->path = xstrdup(path);
	ps->nplugins++; /* from here on plugin_set_free unloads it */

	desc = dlsym(p->dl, STREAMER_PLUGIN_SYMBOL);
	if (!desc)
		return err_printf(err, errlen, "STREAMER_PLUGINS: %s: not a streamer plugin (no symbol '%s')",
			    path, STREAMER_PLUGIN_SYMBOL);
	/* abi_version is the first member in every version: the only safe read before the check. */
	if (desc->abi_version != STREAMER_HANDLER_ABI_VERSION)
		return err_printf(err, errlen,
			    "STREAMER_PLUGINS: %s: built for handler ABI version %u, this streamer needs version %u (rebuild it against this streamer's <streamer/handler.h>)",
			    path, desc->abi_version, STREAMER_HANDLER_ABI_VERSION);
	if (!desc->handlers || !desc->handlers[0].name)
		return err_printf(err, errlen, "STREAMER_PLUGINS: %s: the plugin defines no handlers", path);
	p->desc = desc;

	for (const struct streamer_handler *h = desc->handlers; h->name; h++, n++) {
		const char *owner;

		if (handler_check(h, n, why, sizeof why) < 0)
			return err_printf(err, errlen, "STREAMER_PLUGINS: %s: %s", path, why);
		owner = defined_in(ps, h->name);
		if (owner) {
			if (strcmp(owner, path) == 0)
				return err_printf(err, errlen, "STREAMER_PLUGINS: %s: defines action '%s' twice",
					    path, h->name);
			return err_printf(err, errlen, "STREAMER_PLUGINS: %s: action '%s' is already defined by %s",
				    path, h->name, owner);
		}
		if (taken && (owner = taken(taken_arg, h->name)) != NULL)
			return err_printf(err, errlen, "STREAMER_PLUGINS: %s: action '%s' is already %s", path,
				    h->name, owner);
		ps->entries = xrealloc(ps->entries, (ps->nentries + 1) * sizeof *ps->entries);
		ps->entries[ps->nentries].h = h;
		ps->entries[ps->nentries].plugin = ps->nplugins - 1;
		ps->nentries++;
	}
	if (desc->init) {
		why[0] = '\0';
		if (desc->init(why, sizeof why) != 0) {
			ps->nentries = first;
			return err_printf(err, errlen, "STREAMER_PLUGINS: %s: init failed: %s", path,
				    why[0] ? why : "no reason given");
		}
	}
	p->initialised = 1;
	return 0;
}

int plugin_set_load(struct plugin_set **out, char *const *paths, plugin_taken_fn taken,
		    void *taken_arg, char *err, size_t errlen)
{
	struct plugin_set *ps = xcalloc(1, sizeof *ps);

	*out = NULL;
	for (size_t i = 0; paths && paths[i]; i++) {
		if (load_one(ps, paths[i], taken, taken_arg, err, errlen) < 0) {
			plugin_set_free(ps);
			return -1;
		}
	}
	*out = ps;
	return 0;
}

void plugin_set_free(struct plugin_set *ps)
{
	if (!ps)
		return;
	for (size_t i = ps->nplugins; i > 0; i--) {
		struct plugin *p = &ps->plugins[i - 1];

		if (p->initialised && p->desc->fini)
			p->desc->fini();
		dlclose(p->dl);
		free(p->path);
	}
	free(ps->plugins);
	free(ps->entries);
	free(ps);
}

const struct streamer_handler *plugin_set_find(const struct plugin_set *ps, const char *name)
{
	if (!ps || !name)
		return NULL;
	for (size_t i = 0; i < ps->nentries; i++)
		if (strcmp(ps->entries[i].h->name, name) == 0)
			return ps->entries[i].h;
	return NULL;
}
