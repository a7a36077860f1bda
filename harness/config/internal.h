/* internal.h: what config.c shares with scenario.c; not for other areas. */
#ifndef HARNESS_CONFIG_INTERNAL_H
#define HARNESS_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/ytree.h"

/* Names no variable may take: they mean something in a template. */
extern const char *const config_reserved_names[];

/* Check the name of a variable (a `variables:` key or an extraction):
 * an identifier that is not a built-in template name. Reports through
 * yerror and returns -1 when it is not. */
int config_check_variable_name(struct yfile *f, const struct ynode *k);
/* Load a `variables:` mapping (name: scalar) into a new array. */
int config_load_variables(struct yfile *f, const struct ynode *map,
                          struct config_kv **out, size_t *nout);
void config_kv_free(struct config_kv *kv, size_t n);
/* Write "KEY:" then the pairs indented two more, or "KEY: {}". */
void config_dump_kv(struct strbuf *out, const char *indent, const char *key,
                    const struct config_kv *kv, size_t n);
/* The absolute directory holding path (which exists). Caller frees. */
char *config_file_dir(const char *path);
/* Whether s is [A-Za-z_][A-Za-z0-9_]* (plus '-' when allow_dash). */
int config_valid_ident(const char *s, int allow_dash);

#endif
