/* symbolize.c: module+offset to function (file:line) with libdw. Each
 * module is read once per process and kept for every later pass, with its
 * symbol table cut into sorted address ranges and every frame it resolved. */
#include "spool/symbolize.h"

#include <stdlib.h>
#include <string.h>

#ifndef HARNESS_NO_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

/* A frame once resolved: what symbolize_frame gives for it, the strings
 * borrowed from the module's Dwfl. */
struct resolved {
	uint64_t offset;
	const char *func;	/* NULL: no symbol covers the address */
	const char *file;	/* NULL: no line information */
	int line;
	bool used;		/* a slot of the table in use */
};

/* One module as the process has read it, shared by every symbolizer.
 * Known by its path and the identity of the file there: a module rebuilt
 * in place is read afresh. */
struct module {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned refs;		/* the registry's and each symbolizer's */
	struct module *next;	/* in the registry */

	Dwfl *dwfl;		/* NULL: the module could not be read */
	Dwfl_Module *mod;
	Dwarf_Addr start;	/* where the module's first byte sits */

	/* The symbol index. libdw finds the symbol of an address by a walk
	 * over the whole symbol table. Its choice depends on the address
	 * only through comparisons with the symbols' starts and ends and
	 * the sections' bounds, and through whether the address is exactly
	 * a symbol's start: so between two neighbouring cuts (all those
	 * bounds, sorted) it is the same, once for the cut itself and once
	 * for the addresses after it. Each of these classes asks libdw once,
	 * and a frame's class is found by binary search. */
	bool indexed;
	Dwarf_Addr *cuts;	/* sorted, distinct */
	size_t ncuts;
	const char **names;	/* per class: NULL unknown, else the name
				 * or no_symbol; 2 * ncuts + 1 of them;
				 * NULL: no index */

	struct resolved *frames;	/* open addressing by offset */
	size_t nframes, frames_slots;
};

/* A class where libdw found no symbol. */
static const char no_symbol[] = "";

/* Every module read so far, and a lock over them and all that hangs off
 * them: libdw's handles are not for two threads at once. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *registry;

/* The modules one symbolizer (one ingest pass) has met, each looked up
 * in the registry (and its file checked) once. m NULL: the path names no
 * file this pass. */
struct seen {
	char *path;
	struct module *m;
};

struct symbolizer {
	struct seen *seen;
	size_t n, alloc;
};

static char *debuginfo_path;

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static void module_unref(struct module *m)
{
	if (!m || --m->refs)
		return;
	free(m->path);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m->cuts);
	free(m->names);
	free(m->frames);
	free(m);
}

struct symbolizer *symbolizer_new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer_free(struct symbolizer *sym)
{
	if (!sym)
		return;
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < sym->n; i++)
		module_unref(sym->seen[i].m);
	pthread_mutex_unlock(&registry_lock);
	for (size_t i = 0; i < sym->n; i++)
		free(sym->seen[i].path);
	free(sym->seen);
	free(sym);
}

void symbolizer_forget_modules(void)
{
	pthread_mutex_lock(&registry_lock);
	while (registry) {
		struct module *m = registry;

		registry = m->next;
		module_unref(m);
	}
	pthread_mutex_unlock(&registry_lock);
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

static bool same_file(const struct module *m, const struct stat *st)
{
	return m->dev == st->st_dev && m->ino == st->st_ino &&
	       m->size == st->st_size &&
	       m->mtime.tv_sec == st->st_mtim.tv_sec &&
	       m->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The module at path, from the registry or read now, with a reference
 * for the caller; NULL when there is no file at path or out of memory.
 * A module whose file changed leaves the registry (and goes when its last
 * symbolizer does). */
static struct module *module_get(const char *path)
{
	struct module *m, **pp;
	struct stat st;

	if (stat(path, &st) < 0)
		return NULL;
	for (pp = &registry; (m = *pp); pp = &m->next) {
		if (strcmp(m->path, path))
			continue;
		if (same_file(m, &st)) {
			m->refs++;
			return m;
		}
		*pp = m->next;
		module_unref(m);
		break;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->path = strdup(path);
	if (!m->path) {
		free(m);
		return NULL;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	m->refs = 2;
	module_open(m);
	m->next = registry;
	registry = m;
	return m;
}

/* The module at path for this symbolizer: looked up once per symbolizer,
 * so that a file is checked once per pass. */
static struct module *symbolizer_module(struct symbolizer *sym,
					const char *path)
{
	struct seen *s;

	for (size_t i = 0; i < sym->n; i++)
		if (!strcmp(sym->seen[i].path, path))
			return sym->seen[i].m;
	if (sym->n == sym->alloc) {
		size_t alloc = sym->alloc ? 2 * sym->alloc : 8;
		struct seen *seen = realloc(sym->seen, alloc * sizeof(*seen));

		if (!seen)
			return NULL;
		sym->seen = seen;
		sym->alloc = alloc;
	}
	s = &sym->seen[sym->n];
	s->path = strdup(path);
	if (!s->path)
		return NULL;
	s->m = module_get(path);
	sym->n++;
	return s->m;
}

/* ---- the symbol index ------------------------------------------------- */

struct cuts {
	Dwarf_Addr *at;
	size_t n, alloc;
	bool failed;
};

static void cut(struct cuts *c, Dwarf_Addr at)
{
	if (c->failed)
		return;
	if (c->n == c->alloc) {
		size_t alloc = c->alloc ? 2 * c->alloc : 1024;
		Dwarf_Addr *p = realloc(c->at, alloc * sizeof(*p));

		if (!p) {
			c->failed = true;
			return;
		}
		c->at = p;
		c->alloc = alloc;
	}
	c->at[c->n++] = at;
}

/* The bounds of elf's sections where the module has them: libdw places a
 * sizeless symbol only in the section of the address. Sums wrap as
 * libdw's differences do. */
static void cut_sections(struct cuts *c, Elf *elf, Dwarf_Addr bias)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr mem, *sh = gelf_getshdr(scn, &mem);

		if (!sh)
			continue;
		cut(c, sh->sh_addr + bias);
		cut(c, sh->sh_addr + sh->sh_size + bias);
	}
}

static int cmp_addr(const void *a, const void *b)
{
	Dwarf_Addr x = *(const Dwarf_Addr *)a, y = *(const Dwarf_Addr *)b;

	return x < y ? -1 : x > y;
}

/* Cut the module's address space at every symbol's start and end and at
 * every section's bounds, in each ELF file its symbols come from (the
 * module, its debug file, its embedded symbol table). Without an index
 * (out of memory, too many ELF files) every lookup asks libdw. */
static void module_index(struct module *m)
{
	struct {
		Elf *elf;
		Dwarf_Addr bias;
	} elfs[4];
	size_t nelfs = 0, n;
	struct cuts c = { 0 };
	Dwarf_Addr bias;
	Elf *elf;
	int nsyms;

	m->indexed = true;
	elf = dwfl_module_getelf(m->mod, &bias);
	if (elf) {
		elfs[0].elf = elf;
		elfs[0].bias = bias;
		nelfs = 1;
	}
	/* No symbol table: libdw finds nothing, one class says so. */
	nsyms = dwfl_module_getsymtab(m->mod);
	for (int i = 0; i < nsyms; i++) {
		GElf_Sym s;
		GElf_Addr value;
		GElf_Word shndx;
		size_t k;

		elf = NULL;
		if (!dwfl_module_getsym_info(m->mod, i, &s, &value, &shndx,
					     &elf, &bias))
			continue;
		cut(&c, value);
		cut(&c, value + s.st_size);
		if (!elf)
			continue;
		for (k = 0; k < nelfs && elfs[k].elf != elf; k++)
			;
		if (k < nelfs)
			continue;
		if (nelfs == sizeof(elfs) / sizeof(elfs[0])) {
			c.failed = true;
			break;
		}
		elfs[nelfs].elf = elf;
		elfs[nelfs++].bias = bias;
	}
	for (size_t k = 0; k < nelfs; k++)
		cut_sections(&c, elfs[k].elf, elfs[k].bias);
	if (c.failed)
		goto fail;
	qsort(c.at, c.n, sizeof(*c.at), cmp_addr);
	n = 0;
	for (size_t i = 0; i < c.n; i++)
		if (!n || c.at[i] != c.at[n - 1])
			c.at[n++] = c.at[i];
	m->names = calloc(2 * n + 1, sizeof(*m->names));
	if (!m->names)
		goto fail;
	m->cuts = c.at;
	m->ncuts = n;
	return;
fail:
	free(c.at);
}

/* The name libdw gives addr (borrowed from the module), or NULL. */
static const char *module_symbol(struct module *m, Dwarf_Addr addr)
{
	size_t lo = 0, hi, slot;
	const char *name;

	if (!m->indexed)
		module_index(m);
	if (!m->names)
		return dwfl_module_addrname(m->mod, addr);
	/* lo: how many cuts lie at or below addr. */
	hi = m->ncuts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->cuts[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	slot = 2 * lo - (lo && m->cuts[lo - 1] == addr ? 1 : 0);
	if (!m->names[slot]) {
		name = dwfl_module_addrname(m->mod, addr);
		m->names[slot] = name ? name : no_symbol;
	}
	return m->names[slot] == no_symbol ? NULL : m->names[slot];
}

/* ---- frames ----------------------------------------------------------- */

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

static void resolve(struct module *m, struct resolved *r)
{
	/* A return address: the call is the instruction before it. */
	Dwarf_Addr addr = m->start + r->offset - (r->offset ? 1 : 0);
	Dwfl_Line *l;

	r->func = module_symbol(m, addr);
	if (!r->func)
		return;
	/* The line in the function itself, not in code inlined into it
	 * (as libhtrace's own inline wrappers are). */
	r->file = inlined_call_site(m->mod, addr, &r->line);
	if (!r->file) {
		l = dwfl_module_getsrc(m->mod, addr);
		r->file = l ? dwfl_lineinfo(l, NULL, &r->line, NULL, NULL,
					    NULL)
			    : NULL;
	}
	if (!r->file)
		r->line = 0;
}

static size_t offset_slot(uint64_t offset, size_t mask)
{
	offset *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(offset ^ (offset >> 32)) & mask;
}

static bool grow_frames(struct module *m)
{
	size_t n = m->frames_slots ? 2 * m->frames_slots : 256;
	struct resolved *t = calloc(n, sizeof(*t));

	if (!t)
		return false;
	for (size_t i = 0; i < m->frames_slots; i++) {
		size_t j;

		if (!m->frames[i].used)
			continue;
		j = offset_slot(m->frames[i].offset, n - 1);
		while (t[j].used)
			j = (j + 1) & (n - 1);
		t[j] = m->frames[i];
	}
	free(m->frames);
	m->frames = t;
	m->frames_slots = n;
	return true;
}

/* The frame at offset, resolved the first time the process meets it.
 * NULL when out of memory. */
static const struct resolved *module_frame(struct module *m, uint64_t offset)
{
	struct resolved *r;
	size_t j, mask;

	if ((m->nframes + 1) * 2 > m->frames_slots && !grow_frames(m))
		return NULL;
	mask = m->frames_slots - 1;
	for (j = offset_slot(offset, mask);; j = (j + 1) & mask) {
		r = &m->frames[j];
		if (!r->used)
			break;
		if (r->offset == offset)
			return r;
	}
	r->offset = offset;
	resolve(m, r);
	r->used = true;
	m->nframes++;
	return r;
}

int symbolize_frame(struct symbolizer *sym, const char *module,
		    uint64_t offset, char **func, char **file, int *line)
{
	const struct resolved *r = NULL;
	struct module *m;
	int ret = -1;

	*func = NULL;
	*file = NULL;
	*line = 0;
	if (!sym || !module || !*module)
		return -1;
	pthread_mutex_lock(&registry_lock);
	m = symbolizer_module(sym, module);
	if (m && m->dwfl)
		r = module_frame(m, offset);
	if (!r || !r->func)
		goto out;
	*func = strdup(r->func);
	if (!*func)
		goto out;
	if (r->file) {
		*file = strdup(r->file);
		*line = *file ? r->line : 0;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&registry_lock);
	return ret;
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

void symbolizer_forget_modules(void)
{
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
