/* knobs.c: parsing the reference stack's knobs from options, the
 * environment and a KEY=VALUE file, and spending a configured delay. */
#include "refstack/knobs.h"

#include "util/error.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void rs_knobs_init(struct rs_knobs *k)
{
	memset(k, 0, sizeof(*k));
}

void rs_knobs_release(struct rs_knobs *k)
{
	for (size_t i = 0; i < k->ndelays; i++)
		free(k->delays[i].op);
	free(k->delays);
	rs_knobs_init(k);
}

int rs_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 },
		/* micro: the micro sign U+00B5 and the Greek mu U+03BC */
		{ "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
	};
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].scale;
		if (v > 1e18)
			return -1;
		*ns = (uint64_t)v;
		return 0;
	}
	return -1;
}

int rs_knobs_add_delays(struct rs_knobs *k, const char *list, bool cpu,
			char **cause)
{
	char *copy = xstrdup(list), *save = NULL, *item;
	int ret = 0;

	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strrchr(item, '=');
		uint64_t ns;

		while (isspace((unsigned char)*item))
			item++;
		if (!eq || eq == item) {
			*cause = xasprintf("bad delay '%s': want OP=DURATION",
					   item);
			ret = -1;
			goto out;
		}
		*eq = '\0';
		if (rs_parse_duration(eq + 1, &ns) < 0) {
			*cause = xasprintf("bad duration '%s' for '%s'", eq + 1,
					   item);
			ret = -1;
			goto out;
		}
		ALLOC_GROW(k->delays, k->ndelays + 1, k->alloc);
		k->delays[k->ndelays].op = xstrdup(item);
		k->delays[k->ndelays].ns = ns;
		k->delays[k->ndelays].cpu = cpu;
		k->ndelays++;
	}
out:
	free(copy);
	return ret;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false") ||
		 !strcasecmp(v, "no") || !strcasecmp(v, "off") || !*v)
		*out = false;
	else
		return -1;
	return 0;
}

int rs_knobs_set(struct rs_knobs *k, const char *key, const char *value,
		 char **cause)
{
	const char *name = key;
	char *end;

	if (!strncasecmp(name, "REFSTACK_", 9))
		name += 9;
	if (!strcasecmp(name, "slow"))
		return rs_knobs_add_delays(k, value, false, cause);
	if (!strcasecmp(name, "cpu"))
		return rs_knobs_add_delays(k, value, true, cause);
	if (!strcasecmp(name, "n_plus_one")) {
		if (parse_bool(value, &k->n_plus_one) < 0)
			goto bad;
		return 0;
	}
	if (!strcasecmp(name, "build_failure_rate")) {
		double r;

		errno = 0;
		r = strtod(value, &end);
		if (errno || end == value || *end || !(r >= 0 && r <= 1))
			goto bad;
		k->build_failure_rate = r;
		return 0;
	}
	if (!strcasecmp(name, "seed")) {
		unsigned long long s;

		errno = 0;
		s = strtoull(value, &end, 10);
		if (errno || end == value || *end || *value == '-')
			goto bad;
		k->seed = s;
		return 0;
	}
	*cause = xasprintf("unknown knob '%s'", key);
	return -1;
bad:
	*cause = xasprintf("bad value '%s' for knob '%s'", value, key);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int rs_knobs_load_file(struct rs_knobs *k, const char *path, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	char *line, *save = NULL, *sub = NULL;
	unsigned lineno = 0;
	int ret = 0;

	if (strbuf_read_file(&sb, path) < 0) {
		*cause = xasprintf("cannot read '%s': %s", path,
				   strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	/* Count lines by hand: strtok_r would skip empty ones. */
	for (line = sb.buf; line; line = save) {
		char *nl = strchr(line, '\n'), *eq, *key;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			*cause = xasprintf("%s:%u: want KEY=VALUE", path,
					   lineno);
			ret = -1;
			break;
		}
		*eq = '\0';
		if (rs_knobs_set(k, trim(key), trim(eq + 1), &sub) < 0) {
			*cause = xasprintf("%s:%u: %s", path, lineno, sub);
			free(sub);
			ret = -1;
			break;
		}
	}
	strbuf_release(&sb);
	return ret;
}

int rs_knobs_load_env(struct rs_knobs *k, char **cause)
{
	static const char *const keys[] = {
		"REFSTACK_SLOW", "REFSTACK_CPU", "REFSTACK_N_PLUS_ONE",
		"REFSTACK_BUILD_FAILURE_RATE", "REFSTACK_SEED",
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = getenv(keys[i]);

		if (v && *v && rs_knobs_set(k, keys[i], v, cause) < 0)
			return -1;
	}
	return 0;
}

const struct rs_knob_delay *rs_knobs_delay(const struct rs_knobs *k,
					   const char *op)
{
	/* The last one given wins: options come after the file. */
	for (size_t i = k->ndelays; i-- > 0;)
		if (!strcmp(k->delays[i].op, op))
			return &k->delays[i];
	return NULL;
}

const struct rs_knob_delay *rs_knobs_delay_in(const struct rs_knobs *k,
					      enum htrace_kind kind,
					      const char *op)
{
	switch (kind) {
	case HTRACE_KIND_RPC_CALL:
	case HTRACE_KIND_RPC_CAST:
	case HTRACE_KIND_REST_CALL:
		return NULL;
	default:
		return rs_knobs_delay(k, op);
	}
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rs_knob_delay_spend(const struct rs_knob_delay *d)
{
	if (!d || !d->ns)
		return;
	if (d->cpu) {
		/* Work, not sleep: the thread's own CPU clock must advance. */
		uint64_t until = clock_ns(CLOCK_THREAD_CPUTIME_ID) + d->ns;
		volatile uint64_t x = 0;

		while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < until)
			for (int i = 0; i < 1000; i++)
				x = x * 6364136223846793005u + 1;
	} else {
		struct timespec ts = {
			.tv_sec = (time_t)(d->ns / 1000000000u),
			.tv_nsec = (long)(d->ns % 1000000000u),
		};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
