/* symbolize.c: module+offset to function (file:line) with libdw: each
 * module is reported offline to a Dwfl of its own, once, and looked up
 * by symbol table and line table. */
#include "spool/symbolize.h"

#include <stdlib.h>
#include <string.h>

#ifndef HARNESS_NO_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

struct module {
	char *path;
	Dwfl *dwfl;		/* NULL: the module could not be read */
	Dwfl_Module *mod;
	Dwarf_Addr start;	/* where the module's first byte sits */
};

struct symbolizer {
	struct module *mods;
	size_t n, alloc;
};

static char *debuginfo_path;

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer_new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer_free(struct symbolizer *sym)
{
	if (!sym)
		return;
	for (size_t i = 0; i < sym->n; i++) {
		free(sym->mods[i].path);
		if (sym->mods[i].dwfl)
			dwfl_end(sym->mods[i].dwfl);
	}
	free(sym->mods);
	free(sym);
}

static void module_open(struct module *m)
{
	m->dwfl = dwfl_begin(&offline_callbacks);
	if (!m->dwfl)
		return;
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_offline(m->dwfl, m->path, m->path, -1);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod) {
		dwfl_end(m->dwfl);
		m->dwfl = NULL;
		return;
	}
	/* Offsets count from where the loader put the module's first
	 * segment (dladdr's base): the module's lowest address here. */
	dwfl_module_info(m->mod, NULL, &m->start, NULL, NULL, NULL, NULL,
			 NULL);
}

static struct module *module_get(struct symbolizer *sym, const char *path)
{
	struct module *m;

	for (size_t i = 0; i < sym->n; i++)
		if (!strcmp(sym->mods[i].path, path))
			return &sym->mods[i];
	if (sym->n == sym->alloc) {
		size_t alloc = sym->alloc ? 2 * sym->alloc : 8;
		struct module *mods = realloc(sym->mods, alloc * sizeof(*mods));
		if (!mods)
			return NULL;
		sym->mods = mods;
		sym->alloc = alloc;
	}
	m = &sym->mods[sym->n];
	memset(m, 0, sizeof(*m));
	m->path = strdup(path);
	if (!m->path)
		return NULL;
	sym->n++;
	module_open(m);
	return m;
}

/* Where the function that holds addr calls the code inlined into it at
 * addr: the call site of the outermost inlined subroutine. Returns the
 * file (borrowed from libdw) or NULL when nothing is inlined there. */
static const char *inlined_call_site(Dwfl_Module *mod, Dwarf_Addr addr,
				     int *line)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Die *scopes = NULL;
	Dwarf_Files *files;
	Dwarf_Attribute at;
	Dwarf_Word file_idx, line_no;
	const char *file = NULL;
	size_t n_files;
	int n, outer = -1;

	if (!cu)
		return NULL;
	n = dwarf_getscopes(cu, addr - bias, &scopes);
	for (int i = 0; i < n; i++)
		if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine)
			outer = i;
	if (outer >= 0 &&
	    dwarf_formudata(dwarf_attr(&scopes[outer], DW_AT_call_file, &at),
			    &file_idx) == 0 &&
	    dwarf_formudata(dwarf_attr(&scopes[outer], DW_AT_call_line, &at),
			    &line_no) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &n_files) == 0 &&
	    file_idx < n_files) {
		file = dwarf_filesrc(files, file_idx, NULL, NULL);
		*line = (int)line_no;
	}
	free(scopes);
	return file;
}

int symbolize_frame(struct symbolizer *sym, const char *module,
		    uint64_t offset, char **func, char **file, int *line)
{
	struct module *m;
	Dwarf_Addr addr;
	const char *name, *src;
	Dwfl_Line *l;
	int lineno = 0;

	*func = NULL;
	*file = NULL;
	*line = 0;
	if (!sym || !module || !*module)
		return -1;
	m = module_get(sym, module);
	if (!m || !m->dwfl)
		return -1;
	/* A return address: the call is the instruction before it. */
	addr = m->start + offset - (offset ? 1 : 0);
	name = dwfl_module_addrname(m->mod, addr);
	if (!name)
		return -1;
	*func = strdup(name);
	if (!*func)
		return -1;
	/* The line in the function itself, not in code inlined into it
	 * (as libhtrace's own inline wrappers are). */
	src = inlined_call_site(m->mod, addr, &lineno);
	if (!src) {
		l = dwfl_module_getsrc(m->mod, addr);
		src = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL)
			: NULL;
	}
	if (src) {
		*file = strdup(src);
		*line = *file ? lineno : 0;
	}
	return 0;
}

#else
/* Built without libdw: nothing resolves. */
struct symbolizer {
	int unused;
};

struct symbolizer *symbolizer_new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer_free(struct symbolizer *sym)
{
	free(sym);
}

int symbolize_frame(struct symbolizer *sym, const char *module,
		    uint64_t offset, char **func, char **file, int *line)
{
	(void)sym;
	(void)module;
	(void)offset;
	*func = NULL;
	*file = NULL;
	*line = 0;
	return -1;
}
#endif
