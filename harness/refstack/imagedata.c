/* imagedata.c: deterministic pseudo-random image bytes (splitmix64 of the
 * seed and the 8-byte block number). */
#include "refstack/imagedata.h"

uint64_t rs_image_seed(const char *id)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211u;
	return h;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

void rs_image_fill(uint64_t seed, uint64_t offset, unsigned char *buf,
		   size_t len)
{
	while (len) {
		uint64_t block = offset / 8;
		uint64_t v = splitmix64(seed ^ block * 0x100000001b3u);
		unsigned skip = (unsigned)(offset % 8);

		for (unsigned i = skip; i < 8 && len; i++, len--, offset++)
			*buf++ = (unsigned char)(v >> (8 * i));
	}
}
