/* symbolize.h: turn a stack frame as libhtrace records it (the module's
 * path and the return address's offset from the module's load base) into
 * a function name and, where the module has debug information, a source
 * file and line. Used at ingest time, never inside libhtrace (it needs
 * libdw). */
#ifndef HARNESS_SPOOL_SYMBOLIZE_H
#define HARNESS_SPOOL_SYMBOLIZE_H

#include <stdint.h>

/* Opaque; caches each module it has opened (or failed to open). */
struct symbolizer;

/* NULL when out of memory. */
struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *sym);

/* Resolve the return address at offset in module. On success (0) *func
 * is the function's name and, when the module has line information,
 * *file is the source file (as the compiler named it) and *line its line,
 * else *file is NULL and *line 0; the caller frees *func and *file.
 * Returns -1 when the module cannot be read or no symbol covers the
 * address (*func and *file NULL, *line 0). */
int symbolize_frame(struct symbolizer *sym, const char *module,
		    uint64_t offset, char **func, char **file, int *line);

#endif
