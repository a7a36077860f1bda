/* fuzz-driver.c: runs a libFuzzer-style target without libFuzzer (gcc
 * builds): every corpus file as is, then deterministic mutations of them
 * (bit flips, truncations, splices, repeated and random bytes) until the
 * time budget is spent. Sanitizers catch what goes wrong.
 * Usage: fuzz-driver SECONDS FILE... */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *data;
	size_t size;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, struct input *in)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	in->data = malloc(n > 0 ? (size_t)n : 1);
	in->size = n > 0 ? fread(in->data, 1, (size_t)n, f) : 0;
	fclose(f);
	return 0;
}

/* One mutant of src into buf (room for cap bytes); returns its size. */
static size_t mutate(const struct input *src, const struct input *other,
		     uint8_t *buf, size_t cap)
{
	size_t n = src->size < cap ? src->size : cap, pos, len;
	unsigned rounds = 1 + (unsigned)(rng() % 4);

	memcpy(buf, src->data, n);
	while (rounds--) {
		pos = n ? (size_t)(rng() % n) : 0;
		switch (rng() % 7) {
		case 0:	/* flip a bit */
			if (n)
				buf[pos] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:	/* truncate */
			n = pos;
			break;
		case 2:	/* an interesting byte */
			if (n) {
				static const uint8_t v[] = { 0, 0xff, 0x7f,
							     0x80, '{', '[',
							     '"', 0x0a };
				buf[pos] = v[rng() % sizeof(v)];
			}
			break;
		case 3:	/* splice in a piece of another input */
			if (other->size) {
				size_t from = (size_t)(rng() % other->size);
				len = (size_t)(rng() % (other->size - from)) + 1;
				if (pos + len > cap)
					len = cap - pos;
				memcpy(buf + pos, other->data + from, len);
				if (pos + len > n)
					n = pos + len;
			}
			break;
		case 4:	/* repeat a chunk (deep nesting, long runs) */
			len = (size_t)(rng() % 64) + 1;
			if (n && pos + len <= n) {
				while (n + len <= cap && rng() % 8)
				{
					memmove(buf + pos + len, buf + pos,
						n - pos);
					n += len;
				}
			}
			break;
		case 5:	/* delete a range */
			len = n > pos ? (size_t)(rng() % (n - pos + 1)) : 0;
			memmove(buf + pos, buf + pos + len, n - pos - len);
			n -= len;
			break;
		default: /* random bytes */
			len = (size_t)(rng() % 16);
			for (size_t i = 0; i < len && pos + i < n; i++)
				buf[pos + i] = (uint8_t)rng();
			break;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	struct input *corpus;
	size_t ncorpus = 0, cap = 1u << 20, runs = 0;
	uint8_t *buf;
	double budget, start;

	if (argc < 3) {
		fprintf(stderr, "usage: fuzz-driver SECONDS FILE...\n");
		return 2;
	}
	budget = atof(argv[1]);
	corpus = calloc((size_t)argc, sizeof(*corpus));
	for (int i = 2; i < argc; i++) {
		if (load(argv[i], &corpus[ncorpus]) < 0) {
			fprintf(stderr, "fuzz-driver: cannot read '%s'\n",
				argv[i]);
			return 2;
		}
		LLVMFuzzerTestOneInput(corpus[ncorpus].data,
				       corpus[ncorpus].size);
		ncorpus++;
	}
	buf = malloc(cap);
	start = now();
	while (now() - start < budget) {
		for (int k = 0; k < 64; k++) {
			const struct input *a = &corpus[rng() % ncorpus];
			const struct input *b = &corpus[rng() % ncorpus];
			size_t n = mutate(a, b, buf, cap);
			/* a copy of exactly n bytes, so ASan sees overreads */
			uint8_t *exact = malloc(n ? n : 1);

			memcpy(exact, buf, n);
			LLVMFuzzerTestOneInput(exact, n);
			free(exact);
			runs++;
		}
	}
	printf("fuzz-driver: %zu inputs from %zu corpus files in %.1fs\n",
	       runs, ncorpus, now() - start);
	for (size_t i = 0; i < ncorpus; i++)
		free(corpus[i].data);
	free(corpus);
	free(buf);
	return 0;
}
