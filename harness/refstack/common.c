/* common.c: small helpers every service uses: ids, random draws, spans
 * with their delay knob, times and directories. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static uint64_t next_random(struct refstack *rs)
{
	uint64_t x;

	pthread_mutex_lock(&rs->rand_lock);
	/* xorshift64*: small, and reproducible under --seed. */
	x = rs->rand_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rs->rand_state = x;
	pthread_mutex_unlock(&rs->rand_lock);
	return x * 0x2545f4914f6cdd1du;
}

double rs_random(struct refstack *rs)
{
	return (double)(next_random(rs) >> 11) / 9007199254740992.0;
}

void rs_uuid(struct refstack *rs, char out[37])
{
	unsigned char b[16];
	uint64_t a = next_random(rs), c = next_random(rs);
	FILE *f = fopen("/dev/urandom", "rb");

	/* Ids come from the kernel so two runs never share one; the
	 * generator only stands in if /dev/urandom cannot be read. */
	if (!f || fread(b, 1, sizeof(b), f) != sizeof(b)) {
		memcpy(b, &a, 8);
		memcpy(b + 8, &c, 8);
	}
	if (f)
		fclose(f);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

void rs_knob_spend(struct refstack *rs, struct htrace_span *span,
		   enum htrace_kind kind, const char *name)
{
	const struct rs_knob_delay *d = rs_knobs_delay_in(&rs->knobs, kind,
							  name);

	if (!d || !d->ns)
		return;
	/* A planted delay says so where it is spent: a run's spans show
	 * which operation was slowed on purpose, and that it was once. */
	htrace_attr_int(span, d->cpu ? "refstack.knob.cpu_ns"
				     : "refstack.knob.slow_ns",
			(int64_t)d->ns);
	rs_knob_delay_spend(d);
}

struct htrace_span *rs_begin(struct refstack *rs, enum htrace_kind kind,
			     const char *name)
{
	struct htrace_span *span = htrace_begin(kind, name);

	rs_knob_spend(rs, span, kind, name);
	return span;
}

void rs_iso_time(char *buf, size_t size, int64_t secs)
{
	time_t t = time(NULL) + secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

int rs_mkdirs(const char *path)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	if (!ret && mkdir(p, 0755) < 0 && errno != EEXIST)
		ret = -1;
	free(p);
	return ret;
}
