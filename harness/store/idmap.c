/* idmap.c: a small string → id hash map, so that interning a service name
 * for the millionth span costs a hash lookup, not a query. */
#include "store/store-internal.h"

#include <stdlib.h>
#include <string.h>

/* 64-bit FNV-1a: simple, and good enough for names and stack texts. */
uint64_t store_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The maps' own hash, never stored: eight bytes at a time, several times
 * faster than FNV-1a on the kilobytes of a stack's text. */
uint64_t idmap_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xc4ceb9fe1a85ec53ULL);
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

void idmap_init(struct idmap *m)
{
	m->slots = NULL;
	m->nslots = 0;
	m->used = 0;
}

void idmap_release(struct idmap *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		free(m->slots[i].key);
	free(m->slots);
	idmap_init(m);
}

static struct idmap_entry *find_slot(struct idmap_entry *slots, size_t nslots,
				     const char *key, size_t len,
				     uint64_t hash)
{
	size_t i = hash & (nslots - 1);

	for (;;) {
		struct idmap_entry *e = &slots[i];

		if (!e->key)
			return e;
		if (e->hash == hash && !strncmp(e->key, key, len) &&
		    !e->key[len])
			return e;
		i = (i + 1) & (nslots - 1);
	}
}

int64_t idmap_get(const struct idmap *m, const char *key, size_t len,
		  uint64_t hash)
{
	struct idmap_entry *e;

	if (!m->nslots)
		return 0;
	e = find_slot(m->slots, m->nslots, key, len, hash);
	return e->key ? e->id : 0;
}

static void grow(struct idmap *m)
{
	size_t nslots = m->nslots ? m->nslots * 2 : 64;
	struct idmap_entry *slots = xcalloc(nslots, sizeof(*slots));

	for (size_t i = 0; i < m->nslots; i++) {
		struct idmap_entry *old = &m->slots[i];

		if (old->key)
			*find_slot(slots, nslots, old->key, strlen(old->key),
				   old->hash) = *old;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
}

void idmap_put(struct idmap *m, const char *key, size_t len, uint64_t hash,
	       int64_t id)
{
	struct idmap_entry *e;

	/* Keep the load under 3/4 so that probes stay short. */
	if ((m->used + 1) * 4 > m->nslots * 3)
		grow(m);
	e = find_slot(m->slots, m->nslots, key, len, hash);
	if (!e->key) {
		e->key = xstrndup(key, len);
		e->hash = hash;
		m->used++;
	}
	e->id = id;
}
