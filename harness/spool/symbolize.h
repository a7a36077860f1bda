/* symbolize.h: turn a stack frame as libhtrace records it (the module's
 * path and the return address's offset from the module's load base) into
 * a function name and, where the module has debug information, a source
 * file and line. Used at ingest time, never inside libhtrace (it needs
 * libdw). */
#ifndef HARNESS_SPOOL_SYMBOLIZE_H
#define HARNESS_SPOOL_SYMBOLIZE_H

#include <stdint.h>

/* Opaque; one per ingest pass. The modules it reads, and the frames it
 * resolves in them, are kept for the whole process and shared by every
 * symbolizer (a module is read again when its file changes), so a pass
 * after the first pays only for frames no pass has seen. Safe to use
 * from several threads, one symbolizer each. */
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

/* Drop the modules the process keeps (one still in use by a symbolizer
 * goes with that symbolizer): the next frame of each is read afresh, as
 * a new process would. For benchmarks of a first pass, and for tools
 * that check for leaks at exit. */
void symbolizer_forget_modules(void);

#endif
