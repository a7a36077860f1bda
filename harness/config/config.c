/* config.c: loading harness.yaml into struct config, strictly: every key
 * known, every value typed, every template name defined, and every error
 * at file:line:column. Also the effective configuration's dump and hash. */
#include "config/config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config/internal.h"
#include "config/template.h"

#ifndef HARNESS_SCENARIOS_DIR
#define HARNESS_SCENARIOS_DIR "scenarios"
#endif

static const char *const trace_modes[] = {
    [CONFIG_TRACE_HTRACE] = "htrace",
    [CONFIG_TRACE_OTLP] = "otlp",
    [CONFIG_TRACE_OSPROFILER] = "osprofiler",
    [CONFIG_TRACE_NONE] = "none",
    NULL,
};

int config_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
	    {"ns", 1ull},          {"us", 1000ull},
	    {"ms", 1000000ull},    {"s", 1000000000ull},
	    {"m", 60000000000ull}, {"h", 3600000000000ull},
	};
	uint64_t whole = 0, frac = 0, scale = 1, unit = 0;
	const char *p = s;
	int digits = 0;

	if (!s)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (!digits)
		return -1;
	if (*p == '.') {
		int fdigits = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, fdigits++) {
			/* Digits past nanosecond precision of an hour
			 * change nothing; keep the arithmetic in range. */
			if (scale >= 1000000000000000000ull)
				continue;
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
		if (!fdigits)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(p, units[i].unit))
			unit = units[i].ns;
	if (!unit || whole > UINT64_MAX / unit)
		return -1;
	whole *= unit;
	if (frac) {
		double part = (double)frac / (double)scale * (double)unit;
		uint64_t add = (uint64_t)llround(part);

		if (add > UINT64_MAX - whole)
			return -1;
		whole += add;
	}
	*ns = whole;
	return 0;
}

int config_parse_percent(const char *s, double *frac)
{
	char buf[64];
	size_t len;
	int digits = 0, dots = 0;
	double v;

	if (!s)
		return -1;
	len = strlen(s);
	if (len < 2 || len > 40 || s[len - 1] != '%')
		return -1;
	for (size_t i = 0; i < len - 1; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '.' && !dots++)
			continue;
		else
			return -1;
	}
	if (!digits)
		return -1;
	/* "N" with "e-2" appended is N/100 rounded once, exactly as strtod
	 * would read the same fraction written out. */
	snprintf(buf, sizeof(buf), "%.*se-2", (int)(len - 1), s);
	v = strtod(buf, NULL);
	if (!isfinite(v))
		return -1;
	*frac = v;
	return 0;
}

const char *config_default_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("HARNESS_CONFIG");

	if (env && *env)
		return env;
	if (!access("harness.yaml", F_OK))
		return "harness.yaml";
	snprintf(path, sizeof(path), "%s/harness.yaml", HARNESS_SCENARIOS_DIR);
	return path;
}

char *config_resolve(const struct config *cfg, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	if (!strcmp(path, "."))
		return xstrdup(cfg->dir);
	return xasprintf("%s/%s", cfg->dir, path);
}

/* The absolute directory of path, which exists: relative paths in the
 * file then mean the same thing whatever the working directory. */
char *config_file_dir(const char *path)
{
	char *copy = xstrdup(path);
	char *dir = dirname(copy);
	char *real = realpath(dir, NULL);
	char *ret = real ? real : xstrdup(dir);

	free(copy);
	return ret;
}

void config_kv_free(struct config_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void service_release(struct config_service *s)
{
	free(s->name);
	strv_free(s->argv, s->argc);
	config_kv_free(s->env, s->nenv);
	free(s->health);
	free(s->url);
	free(s->workdir);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->store);
	free(cfg->spool_dir);
	for (size_t i = 0; i < cfg->nprojects; i++) {
		free(cfg->projects[i].name);
		free(cfg->projects[i].path);
	}
	free(cfg->projects);
	strv_free(cfg->tracing.hmac_keys, cfg->tracing.nhmac_keys);
	free(cfg->tracing.otlp_listen);
	free(cfg->tracing.osprofiler_url);
	free(cfg->tls.ca_file);
	for (size_t i = 0; i < cfg->nservices; i++)
		service_release(&cfg->services[i]);
	free(cfg->services);
	config_kv_free(cfg->variables, cfg->nvariables);
	free(cfg);
}

static struct config_pos pos_of(const struct yfile *f, const struct ynode *n)
{
	struct config_pos pos = {f->path, n->line, n->column};

	return pos;
}

int config_valid_ident(const char *s, int allow_dash)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' ||
		      (allow_dash && *s == '-')))
			return 0;
	return 1;
}

const char *const config_reserved_names[] = {
    "port", "spool", "store", "dir", "iteration", "uuid", "services", NULL,
};

int config_check_variable_name(struct yfile *f, const struct ynode *k)
{
	if (!config_valid_ident(k->text, 1))
		return yerror(f, k,
		              "bad variable name '%s'; expected letters, "
		              "digits, '_' or '-', starting with a letter or '_'",
		              k->text);
	for (size_t j = 0; config_reserved_names[j]; j++)
		if (!strcmp(k->text, config_reserved_names[j]))
			return yerror(f, k,
			              "variable name '%s' is reserved (a "
			              "built-in template name)",
			              k->text);
	return 0;
}

int config_load_variables(struct yfile *f, const struct ynode *map,
                          struct config_kv **out, size_t *nout)
{
	struct config_kv *kv;

	if (ymap_check_keys(f, map, NULL, "variables"))
		return -1;
	kv = xcalloc(YMAP_PAIRS(map) + 1, sizeof(*kv));
	*out = kv;
	*nout = 0;
	for (size_t i = 0; i < YMAP_PAIRS(map); i++) {
		const struct ynode *k = YMAP_KEY(map, i);

		if (config_check_variable_name(f, k))
			return -1;
		if (yget_text(f, YMAP_VALUE(map, i), k->text, &kv[i].value))
			return -1;
		kv[i].key = xstrdup(k->text);
		kv[i].pos = pos_of(f, k);
		(*nout)++;
	}
	return 0;
}

static int load_projects(struct yfile *f, struct config *cfg,
                         const struct ynode *seq)
{
	static const char *const keys[] = {"name", "path", NULL};

	if (yseq_expect(f, seq, "projects"))
		return -1;
	cfg->projects = xcalloc(seq->n + 1, sizeof(*cfg->projects));
	for (size_t i = 0; i < seq->n; i++) {
		const struct ynode *m = seq->items[i], *v;
		struct config_project *p = &cfg->projects[i];

		if (ymap_check_keys(f, m, keys, "project"))
			return -1;
		cfg->nprojects++;
		p->pos = pos_of(f, m);
		if (ymap_require(f, m, "name", "project",
		                 (struct ynode **)&v) ||
		    yget_str(f, v, "name", &p->name))
			return -1;
		if (!*p->name)
			return yerror(f, v, "'name': must not be empty");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->projects[j].name, p->name))
				return yerror(f, v,
				              "duplicate project '%s' (first "
				              "at line %u)",
				              p->name,
				              cfg->projects[j].pos.line);
		if (ymap_require(f, m, "path", "project",
		                 (struct ynode **)&v) ||
		    yget_str(f, v, "path", &p->path))
			return -1;
		if (!*p->path)
			return yerror(f, v, "'path': must not be empty");
	}
	return 0;
}

static int load_listen(struct yfile *f, const struct ynode *n, char **out)
{
	const char *colon;
	char *end;
	long port;

	if (yget_str(f, n, "listen", out))
		return -1;
	colon = strrchr(*out, ':');
	if (!colon || colon == *out)
		return yerror(f, n, "'listen': expected HOST:PORT, found '%s'",
		              *out);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return yerror(f, n,
		              "'listen': bad port in '%s'; expected 1..65535",
		              *out);
	return 0;
}

static int load_tracing(struct yfile *f, struct config *cfg,
                        const struct ynode *m)
{
	static const char *const keys[] = {
	    "hmac_keys",         "stacks", "sample_rate", "osprofiler_headers",
	    "trust_traceparent", "otlp",   "enabled",     "osprofiler",
	    NULL,
	};
	static const char *const otlp_keys[] = {"enabled", "listen", NULL};
	static const char *const osp_keys[] = {"connection_string", NULL};
	struct config_tracing *t = &cfg->tracing;
	const struct ynode *v;

	if (ymap_check_keys(f, m, keys, "tracing"))
		return -1;
	if ((v = ymap_get(m, "enabled")) &&
	    yget_bool(f, v, "enabled", &t->enabled))
		return -1;
	if ((v = ymap_get(m, "hmac_keys"))) {
		if (yseq_expect(f, v, "hmac_keys"))
			return -1;
		if (!v->n)
			return yerror(f, v,
			              "'hmac_keys': needs at least one "
			              "key");
		strv_free(t->hmac_keys, t->nhmac_keys);
		t->nhmac_keys = 0;
		t->hmac_keys = xcalloc(v->n + 1, sizeof(char *));
		for (size_t i = 0; i < v->n; i++) {
			if (yget_text(f, v->items[i], "hmac_keys",
			              &t->hmac_keys[i]))
				return -1;
			t->nhmac_keys++;
			if (!*t->hmac_keys[i])
				return yerror(f, v->items[i],
				              "'hmac_keys': a key must not be "
				              "empty");
		}
	}
	if ((v = ymap_get(m, "stacks")) &&
	    yget_bool(f, v, "stacks", &t->stacks))
		return -1;
	if ((v = ymap_get(m, "sample_rate"))) {
		if (yget_fraction(f, v, "sample_rate", &t->sample_rate))
			return -1;
		if (t->sample_rate < 0 || t->sample_rate > 1)
			return yerror(f, v,
			              "'sample_rate': must be between 0 "
			              "and 1 (0%% and 100%%)");
	}
	if ((v = ymap_get(m, "osprofiler_headers")) &&
	    yget_bool(f, v, "osprofiler_headers", &t->osprofiler_headers))
		return -1;
	if ((v = ymap_get(m, "trust_traceparent")) &&
	    yget_bool(f, v, "trust_traceparent", &t->trust_traceparent))
		return -1;
	if ((v = ymap_get(m, "osprofiler"))) {
		const struct ynode *o = v;

		if (ymap_check_keys(f, o, osp_keys, "osprofiler"))
			return -1;
		if ((v = ymap_get(o, "connection_string"))) {
			if (yget_str(f, v, "connection_string",
			             &t->osprofiler_url))
				return -1;
			t->osprofiler_url_pos = pos_of(f, v);
			if (strncmp(t->osprofiler_url, "redis://", 8))
				return yerror(
				    f, v,
				    "'connection_string': harness collects "
				    "OSprofiler's spans from redis://HOST:PORT "
				    "only, found '%s'",
				    t->osprofiler_url);
		}
	}
	if ((m = ymap_get(m, "otlp"))) {
		if (ymap_check_keys(f, m, otlp_keys, "otlp"))
			return -1;
		if ((v = ymap_get(m, "enabled")) &&
		    yget_bool(f, v, "enabled", &t->otlp))
			return -1;
		if ((v = ymap_get(m, "listen"))) {
			free(t->otlp_listen);
			t->otlp_listen = NULL;
			if (load_listen(f, v, &t->otlp_listen))
				return -1;
		}
	}
	return 0;
}

/* A CA bundle that is not there or holds no certificate would fail every
 * https:// request with a less telling message, so it is checked here,
 * where its line is known. */
static int check_ca_file(struct yfile *f, const struct config *cfg,
                         const struct ynode *v)
{
	char *path = config_resolve(cfg, cfg->tls.ca_file);
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	int ret = -1;

	if (stat(path, &st) < 0 ||
	    (S_ISREG(st.st_mode) && strbuf_read_file(&sb, path) < 0)) {
		yerror(f, v, "'ca_file': cannot read '%s': %s", path,
		       strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		yerror(f, v, "'ca_file': '%s' is not a file", path);
		goto out;
	}
	if (!sb.len || !strstr(sb.buf, "-----BEGIN ") ||
	    !strstr(sb.buf, "CERTIFICATE-----")) {
		yerror(f, v,
		       "'ca_file': '%s' holds no PEM certificate "
		       "(-----BEGIN CERTIFICATE-----)",
		       path);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&sb);
	free(path);
	return ret;
}

static int load_tls(struct yfile *f, struct config *cfg, const struct ynode *m)
{
	static const char *const keys[] = {"ca_file", "verify", NULL};
	struct config_tls *t = &cfg->tls;
	const struct ynode *v;
	bool verify = true;

	if (ymap_check_keys(f, m, keys, "tls"))
		return -1;
	if ((v = ymap_get(m, "verify")) && yget_bool(f, v, "verify", &verify))
		return -1;
	t->insecure = !verify;
	if ((v = ymap_get(m, "ca_file"))) {
		if (yget_str(f, v, "ca_file", &t->ca_file))
			return -1;
		t->ca_file_pos = pos_of(f, v);
		if (!*t->ca_file)
			return yerror(f, v, "'ca_file': must not be empty");
		if (check_ca_file(f, cfg, v))
			return -1;
	}
	return 0;
}

static const char *const service_keys[] = {
    "name", "command", "env",   "port",          "health",
    "url",  "workdir", "trace", "start_timeout", NULL,
};

static int check_text(struct yfile *f, const struct ynode *n, const char *key,
                      const char *text, const struct ynames *names)
{
	return ycheck_template(f, n, key, text, names, NULL);
}

static int load_service(struct yfile *f, struct config *cfg,
                        struct config_service *s, const struct ynode *m,
                        const struct ynames *names)
{
	const struct ynode *v;

	s->pos = pos_of(f, m);
	s->health = xstrdup("/healthz");
	s->start_timeout_ns = 10000000000ull;
	s->trace = CONFIG_TRACE_HTRACE;
	v = ymap_get(m, "name");
	if (yget_str(f, v, "name", &s->name))
		return -1;
	if ((v = ymap_get(m, "command"))) {
		if (yseq_expect(f, v, "command"))
			return -1;
		if (!v->n)
			return yerror(f, v, "'command': must not be empty");
		s->argv = xcalloc(v->n + 1, sizeof(char *));
		for (size_t i = 0; i < v->n; i++) {
			if (yget_text(f, v->items[i], "command", &s->argv[i]))
				return -1;
			s->argc++;
			if (check_text(f, v->items[i], "command", s->argv[i],
			               names))
				return -1;
		}
		if (!*s->argv[0])
			return yerror(f, v->items[0],
			              "'command': the program must not be "
			              "empty");
	} else if (cfg->manage) {
		return yerror(f, m,
		              "missing required key 'command' in service "
		              "'%s' (required when manage is true)",
		              s->name);
	}
	if ((v = ymap_get(m, "env"))) {
		if (ymap_check_keys(f, v, NULL, "env"))
			return -1;
		s->env = xcalloc(YMAP_PAIRS(v) + 1, sizeof(*s->env));
		for (size_t i = 0; i < YMAP_PAIRS(v); i++) {
			const struct ynode *k = YMAP_KEY(v, i);
			struct config_kv *e = &s->env[i];

			if (!config_valid_ident(k->text, 0))
				return yerror(f, k,
				              "bad environment variable name "
				              "'%s'",
				              k->text);
			if (yget_text(f, YMAP_VALUE(v, i), k->text, &e->value))
				return -1;
			e->key = xstrdup(k->text);
			e->pos = pos_of(f, k);
			s->nenv++;
			if (check_text(f, YMAP_VALUE(v, i), k->text, e->value,
			               names))
				return -1;
		}
	}
	if ((v = ymap_get(m, "port"))) {
		long long port;

		if (v->kind == YNODE_SCALAR && v->type == YSCALAR_STRING &&
		    !strcmp(v->text, "auto")) {
			s->port = 0;
		} else if (v->kind == YNODE_SCALAR && v->type != YSCALAR_INT) {
			return yerror(f, v,
			              "'port': expected an integer "
			              "(1..65535) or 'auto', found %s",
			              ynode_describe(v));
		} else {
			if (yget_int(f, v, "port", 1, 65535, &port))
				return -1;
			s->port = (int)port;
		}
	}
	if ((v = ymap_get(m, "health"))) {
		free(s->health);
		s->health = NULL;
		if (yget_str(f, v, "health", &s->health))
			return -1;
		if (s->health[0] != '/')
			return yerror(f, v,
			              "'health': expected a path "
			              "starting with '/', found '%s'",
			              s->health);
	}
	if ((v = ymap_get(m, "url"))) {
		if (yget_str(f, v, "url", &s->url) ||
		    check_text(f, v, "url", s->url, names))
			return -1;
		if (strncmp(s->url, "http://", 7) &&
		    strncmp(s->url, "https://", 8) && s->url[0] != '{')
			return yerror(f, v,
			              "'url': expected an http:// or "
			              "https:// URL, found '%s'",
			              s->url);
	} else if (!cfg->manage) {
		return yerror(f, m,
		              "missing required key 'url' in service '%s' "
		              "(required when manage is false)",
		              s->name);
	}
	if ((v = ymap_get(m, "workdir"))) {
		if (yget_str(f, v, "workdir", &s->workdir) ||
		    check_text(f, v, "workdir", s->workdir, names))
			return -1;
		if (!*s->workdir)
			return yerror(f, v, "'workdir': must not be empty");
	}
	if ((v = ymap_get(m, "trace"))) {
		int mode;

		if (yget_enum(f, v, "trace", trace_modes, &mode))
			return -1;
		s->trace = (enum config_trace_mode)mode;
	}
	if ((v = ymap_get(m, "start_timeout"))) {
		if (yget_duration(f, v, "start_timeout", &s->start_timeout_ns))
			return -1;
		if (!s->start_timeout_ns)
			return yerror(f, v,
			              "'start_timeout': must be more "
			              "than 0");
	}
	return 0;
}

/* services.NAME, and its host and port for URLs that are not HTTP. */
static void add_service_names(struct ynames *names, const char *name)
{
	static const char *const parts[] = {"", ".host", ".port"};

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		char *ref = xasprintf("services.%s%s", name, parts[i]);

		ynames_add(names, ref);
		free(ref);
	}
}

/* tracing.osprofiler.connection_string, once the services are known: its
 * templates may name variables and services (not port, spool, store or
 * dir: it is no service's own). */
static int check_osprofiler_url(struct yfile *f, const struct config *cfg,
                                const struct ynode *n)
{
	struct ynames names = YNAMES_INIT;
	int ret;

	for (size_t i = 0; i < cfg->nvariables; i++)
		ynames_add(&names, cfg->variables[i].key);
	for (size_t i = 0; i < cfg->nservices; i++)
		add_service_names(&names, cfg->services[i].name);
	ret = ycheck_template(f, n, "connection_string",
	                      cfg->tracing.osprofiler_url, &names, NULL);
	ynames_release(&names);
	return ret;
}

static int load_services(struct yfile *f, struct config *cfg,
                         const struct ynode *seq)
{
	struct ynames names = YNAMES_INIT;
	int ret = -1;

	if (yseq_expect(f, seq, "services"))
		return -1;
	ynames_add(&names, "port");
	ynames_add(&names, "spool");
	ynames_add(&names, "store");
	ynames_add(&names, "dir");
	for (size_t i = 0; i < cfg->nvariables; i++)
		ynames_add(&names, cfg->variables[i].key);
	/* Every service's name first: a command may name a service that is
	 * defined further down. */
	for (size_t i = 0; i < seq->n; i++) {
		const struct ynode *m = seq->items[i], *v;
		char *name;

		if (ymap_check_keys(f, m, service_keys, "service") ||
		    ymap_require(f, m, "name", "service",
		                 (struct ynode **)&v) ||
		    yget_str(f, v, "name", &name))
			goto out;
		if (!*name ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz"
		                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		        strlen(name)) {
			yerror(f, v,
			       "bad service name '%s'; expected "
			       "letters, digits, '_' or '-'",
			       name);
			free(name);
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			const struct ynode *prev =
			    ymap_get(seq->items[j], "name");

			if (!strcmp(prev->text, name)) {
				yerror(f, v,
				       "duplicate service '%s' (first "
				       "at line %u)",
				       name, prev->line);
				free(name);
				goto out;
			}
		}
		add_service_names(&names, name);
		free(name);
	}
	cfg->services = xcalloc(seq->n + 1, sizeof(*cfg->services));
	for (size_t i = 0; i < seq->n; i++) {
		struct config_service *s = &cfg->services[i];

		cfg->nservices++;
		if (load_service(f, cfg, s, seq->items[i], &names))
			goto out;
		if (!s->port)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (cfg->services[j].port != s->port)
				continue;
			yerror(f, ymap_get(seq->items[i], "port"),
			       "'port': %d is also the port of service '%s'",
			       s->port, cfg->services[j].name);
			goto out;
		}
	}
	ret = 0;
out:
	ynames_release(&names);
	return ret;
}

static int load_root(struct yfile *f, struct config *cfg)
{
	static const char *const keys[] = {
	    "version", "store", "spool",     "keep_spool", "manage", "projects",
	    "tracing", "tls",   "variables", "services",   NULL,
	};
	const struct ynode *root = f->root, *v;
	long long version;

	if (ymap_check_keys(f, root, keys, "the config"))
		return -1;
	if (ymap_require(f, root, "version", "the config",
	                 (struct ynode **)&v) ||
	    yget_int(f, v, "version", LLONG_MIN, LLONG_MAX, &version))
		return -1;
	if (version != 1)
		return yerror(f, v,
		              "'version': unsupported version %lld; "
		              "expected 1",
		              version);
	cfg->version = 1;
	if ((v = ymap_get(root, "store"))) {
		free(cfg->store);
		cfg->store = NULL;
		if (yget_str(f, v, "store", &cfg->store))
			return -1;
		if (!*cfg->store)
			return yerror(f, v, "'store': must not be empty");
	}
	if ((v = ymap_get(root, "spool"))) {
		free(cfg->spool_dir);
		cfg->spool_dir = NULL;
		if (yget_str(f, v, "spool", &cfg->spool_dir))
			return -1;
		if (!*cfg->spool_dir)
			return yerror(f, v, "'spool': must not be empty");
	}
	if ((v = ymap_get(root, "keep_spool")) &&
	    yget_bool(f, v, "keep_spool", &cfg->keep_spool))
		return -1;
	if ((v = ymap_get(root, "manage")) &&
	    yget_bool(f, v, "manage", &cfg->manage))
		return -1;
	if ((v = ymap_get(root, "projects")) && load_projects(f, cfg, v))
		return -1;
	if ((v = ymap_get(root, "tracing")) && load_tracing(f, cfg, v))
		return -1;
	if ((v = ymap_get(root, "tls")) && load_tls(f, cfg, v))
		return -1;
	if ((v = ymap_get(root, "variables")) &&
	    config_load_variables(f, v, &cfg->variables, &cfg->nvariables))
		return -1;
	if ((v = ymap_get(root, "services")) && load_services(f, cfg, v))
		return -1;
	if (cfg->tracing.osprofiler_url &&
	    check_osprofiler_url(
	        f, cfg,
	        ymap_get(ymap_get(ymap_get(root, "tracing"), "osprofiler"),
	                 "connection_string")))
		return -1;
	return 0;
}

static void compute_hash(struct config *cfg)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	bool keep_spool = cfg->keep_spool;
	struct config_tls tls = cfg->tls;

	/* Keeping the spool changes what stays on disk, not what is
	 * measured: runs with and without it compare. */
	cfg->keep_spool = false;
	/* Nor is tls, though less plainly so. Whether a request speaks TLS
	 * at all is in the services' urls, which are hashed. Which CA
	 * vouches for a certificate is a machine's business (a bundle's
	 * path differs between a laptop and CI running the same stack).
	 * verify: false does skip work, the check of the server's
	 * certificate chain, but once per new connection, and the load
	 * driver keeps its connections open; and a baseline found before
	 * a CA was named stays comparable. */
	cfg->tls.ca_file = NULL;
	cfg->tls.insecure = false;
	config_dump(cfg, &sb);
	cfg->keep_spool = keep_spool;
	cfg->tls = tls;
	if (!EVP_Digest(sb.buf, sb.len, md, &len, EVP_sha256(), NULL))
		die("cannot compute SHA-256");
	for (unsigned i = 0; i < len && i < 32; i++)
		snprintf(cfg->hash + 2 * i, 3, "%02x", md[i]);
	strbuf_release(&sb);
}

int config_load(struct config **out, const char *path, char **cause)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct yfile f = {0};
	char *ignored = NULL;

	*out = NULL;
	if (!cause)
		cause = &ignored;
	*cause = NULL;
	cfg->path = xstrdup(path);
	cfg->store = xstrdup("harness.db");
	cfg->spool_dir = xstrdup("spool");
	cfg->manage = true;
	cfg->tracing.enabled = true;
	cfg->tracing.hmac_keys = xcalloc(2, sizeof(char *));
	cfg->tracing.hmac_keys[0] = xstrdup("SECRET_KEY");
	cfg->tracing.nhmac_keys = 1;
	cfg->tracing.sample_rate = 1.0;
	cfg->tracing.osprofiler_headers = true;
	cfg->tracing.otlp_listen = xstrdup("127.0.0.1:4318");
	/* Before the keys: tls.ca_file is checked against it. */
	cfg->dir = config_file_dir(cfg->path);
	if (yfile_load(&f, cfg->path, cause) || load_root(&f, cfg)) {
		yfile_release(&f);
		config_free(cfg);
		free(ignored);
		return -1;
	}
	yfile_release(&f);
	compute_hash(cfg);
	*out = cfg;
	return 0;
}

static void dump_kv_map(struct strbuf *out, const char *indent,
                        const struct config_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(out, "%s", indent);
		ydump_str(out, kv[i].key);
		strbuf_addstr(out, ": ");
		ydump_str(out, kv[i].value);
		strbuf_addch(out, '\n');
	}
}

void config_dump_kv(struct strbuf *out, const char *indent, const char *key,
                    const struct config_kv *kv, size_t n)
{
	strbuf_addf(out, "%s%s:%s\n", indent, key, n ? "" : " {}");
	if (n) {
		char *sub = xasprintf("%s  ", indent);

		dump_kv_map(out, sub, kv, n);
		free(sub);
	}
}

static void dump_bool(struct strbuf *out, const char *indent, const char *key,
                      bool v)
{
	strbuf_addf(out, "%s%s: %s\n", indent, key, v ? "true" : "false");
}

static void dump_service(struct strbuf *out, const struct config_service *s)
{
	strbuf_addstr(out, "  - name: ");
	ydump_str(out, s->name);
	strbuf_addch(out, '\n');
	if (s->argv) {
		strbuf_addstr(out, "    command:\n");
		for (size_t i = 0; i < s->argc; i++) {
			strbuf_addstr(out, "      - ");
			ydump_str(out, s->argv[i]);
			strbuf_addch(out, '\n');
		}
	}
	if (s->nenv)
		config_dump_kv(out, "    ", "env", s->env, s->nenv);
	if (s->port)
		strbuf_addf(out, "    port: %d\n", s->port);
	else
		strbuf_addstr(out, "    port: auto\n");
	strbuf_addstr(out, "    health: ");
	ydump_str(out, s->health);
	strbuf_addch(out, '\n');
	if (s->url) {
		strbuf_addstr(out, "    url: ");
		ydump_str(out, s->url);
		strbuf_addch(out, '\n');
	}
	if (s->workdir) {
		strbuf_addstr(out, "    workdir: ");
		ydump_str(out, s->workdir);
		strbuf_addch(out, '\n');
	}
	strbuf_addf(out, "    trace: %s\n", trace_modes[s->trace]);
	strbuf_addstr(out, "    start_timeout: ");
	ydump_duration(out, s->start_timeout_ns);
	strbuf_addch(out, '\n');
}

void config_dump(const struct config *cfg, struct strbuf *out)
{
	const struct config_tracing *t = &cfg->tracing;

	strbuf_addf(out, "version: %d\n", cfg->version);
	strbuf_addstr(out, "store: ");
	ydump_str(out, cfg->store);
	strbuf_addstr(out, "\nspool: ");
	ydump_str(out, cfg->spool_dir);
	strbuf_addch(out, '\n');
	/* Written only when on, and left out of the hash: every config
	 * dumps and hashes as it did before the key existed. */
	if (cfg->keep_spool)
		dump_bool(out, "", "keep_spool", true);
	dump_bool(out, "", "manage", cfg->manage);
	strbuf_addf(out, "projects:%s\n", cfg->nprojects ? "" : " []");
	for (size_t i = 0; i < cfg->nprojects; i++) {
		strbuf_addstr(out, "  - name: ");
		ydump_str(out, cfg->projects[i].name);
		strbuf_addstr(out, "\n    path: ");
		ydump_str(out, cfg->projects[i].path);
		strbuf_addch(out, '\n');
	}
	strbuf_addstr(out, "tracing:\n");
	/* Written only when off, so that the hash of a config that traces
	 * is what it was before the key existed. */
	if (!t->enabled)
		dump_bool(out, "  ", "enabled", false);
	strbuf_addstr(out, "  hmac_keys:\n");
	for (size_t i = 0; i < t->nhmac_keys; i++) {
		strbuf_addstr(out, "    - ");
		ydump_str(out, t->hmac_keys[i]);
		strbuf_addch(out, '\n');
	}
	dump_bool(out, "  ", "stacks", t->stacks);
	strbuf_addstr(out, "  sample_rate: ");
	ydump_number(out, t->sample_rate);
	strbuf_addch(out, '\n');
	dump_bool(out, "  ", "osprofiler_headers", t->osprofiler_headers);
	dump_bool(out, "  ", "trust_traceparent", t->trust_traceparent);
	strbuf_addstr(out, "  otlp:\n");
	dump_bool(out, "    ", "enabled", t->otlp);
	strbuf_addstr(out, "    listen: ");
	ydump_str(out, t->otlp_listen);
	strbuf_addch(out, '\n');
	/* Written only when set: a config without it dumps and hashes as
	 * before the key existed. With it, the run has more spans, so it
	 * is part of the hash. */
	if (t->osprofiler_url) {
		strbuf_addstr(out, "  osprofiler:\n    connection_string: ");
		ydump_str(out, t->osprofiler_url);
		strbuf_addch(out, '\n');
	}
	/* Written only when not the defaults, and left out of the hash
	 * (compute_hash says why): every config dumps and hashes as it did
	 * before the key existed. */
	if (cfg->tls.ca_file || cfg->tls.insecure) {
		strbuf_addstr(out, "tls:\n");
		if (cfg->tls.ca_file) {
			strbuf_addstr(out, "  ca_file: ");
			ydump_str(out, cfg->tls.ca_file);
			strbuf_addch(out, '\n');
		}
		dump_bool(out, "  ", "verify", !cfg->tls.insecure);
	}
	config_dump_kv(out, "", "variables", cfg->variables, cfg->nvariables);
	strbuf_addf(out, "services:%s\n", cfg->nservices ? "" : " []");
	for (size_t i = 0; i < cfg->nservices; i++)
		dump_service(out, &cfg->services[i]);
}
