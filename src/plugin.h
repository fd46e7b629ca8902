/* plugin.h - loading handler plugins (STREAMER_PLUGINS) with dlopen and finding their actions. */
#ifndef STREAMER_PLUGIN_H
#define STREAMER_PLUGIN_H

#include <stddef.h>

#include <streamer/handler.h>

/* The loaded plugins of a process: process state, loaded once at start. */
struct plugin_set;

/*
 * Asks whether an action name is already taken by someone other than the
 * plugins (the built-in actions). Returns a short description of the owner
 * ("a built-in action") when it is, else NULL.
 */
typedef const char *(*plugin_taken_fn)(void *arg, const char *name);

/*
 * Loads every shared object of paths (a NULL-terminated list of absolute
 * paths; NULL or empty = none) with dlopen(RTLD_NOW | RTLD_LOCAL), checks
 * each one's `streamer_plugin` symbol (ABI version first, then each
 * handler: a valid name, known flags, a run function) and calls its init.
 * Refused: a file that cannot be loaded, lacks the symbol, was built for
 * another ABI version, has no handlers or an invalid one, or defines an
 * action another loaded plugin defines or taken() reports (taken may be
 * NULL). On success returns 0 and a new set in *out (free with
 * plugin_set_free). On failure returns -1, leaves nothing loaded, sets *out
 * to NULL and writes one line naming STREAMER_PLUGINS, the file and the
 * reason into err.
 */
int plugin_set_load(struct plugin_set **out, char *const *paths, plugin_taken_fn taken,
		    void *taken_arg, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Calls each plugin's fini, unloads them and frees ps. NULL is a no-op. */
void plugin_set_free(struct plugin_set *ps);

/* The handler of action name, or NULL. The pointer lives as long as ps. ps may be NULL. */
const struct streamer_handler *plugin_set_find(const struct plugin_set *ps, const char *name);

#endif
