/* osp-redis.c: OSprofiler's redis:// notifications read with hiredis,
 * pipelined, and deleted by exactly what was read; see osp-redis.h. */
#include "collect/osp-redis.h"

#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "util/error.h"
#include "util/strbuf.h"

/* Traces per pipelined batch: bounds the replies held at once. */
#define BATCH 256
#define CONNECT_TIMEOUT_S 5
#define COMMAND_TIMEOUT_S 30

struct taken {
	char *id;
	long long n;		/* entries read from its list */
};

struct osp_redis {
	redisContext *c;
	char *name;		/* the URL, password hidden */
	struct taken *taken;
	size_t ntaken, ataken;
};

struct url {
	char *user, *password, *host;
	int port, db;
};

static void url_release(struct url *u)
{
	free(u->user);
	free(u->password);
	free(u->host);
}

/* %XX escapes of a URL part decoded. */
static char *unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static int parse_url(struct url *u, const char *url, char **cause)
{
	const char *p, *at, *end, *host_end, *colon;
	char *e;
	long v;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "redis://", 8)) {
		*cause = xasprintf("'%s': not a redis:// URL (OSprofiler's "
				   "redis driver is read; want "
				   "redis://HOST:PORT[/DB])", url);
		return -1;
	}
	p = url + 8;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		/* the last '@' ends the user info */
		for (const char *q = at; q < end; q++)
			if (*q == '@')
				at = q;
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (colon > p)
				u->user = unescape(p, (size_t)(colon - p));
			u->password = unescape(colon + 1,
					       (size_t)(at - colon - 1));
		} else {
			u->user = unescape(p, (size_t)(at - p));
		}
		p = at + 1;
	}
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(end - p));
		if (!host_end)
			goto bad;
		u->host = xstrndup(p + 1, (size_t)(host_end - p - 1));
		host_end++;
	} else {
		host_end = memchr(p, ':', (size_t)(end - p));
		if (!host_end)
			host_end = end;
		u->host = xstrndup(p, (size_t)(host_end - p));
	}
	if (!*u->host) {
		free(u->host);
		u->host = xstrdup("localhost");
	}
	if (host_end < end) {
		if (*host_end != ':')
			goto bad;
		errno = 0;
		v = strtol(host_end + 1, &e, 10);
		if (errno || e != end || e == host_end + 1 || v < 1 ||
		    v > 65535)
			goto bad;
		u->port = (int)v;
	}
	if (*end == '/' && end[1] && end[1] != '?' && end[1] != '#') {
		errno = 0;
		v = strtol(end + 1, &e, 10);
		if (errno || e == end + 1 || (*e && *e != '?' && *e != '#') ||
		    v < 0 || v > 1 << 20)
			goto bad;
		u->db = (int)v;
	}
	return 0;
bad:
	url_release(u);
	*cause = xasprintf("'%s': bad redis URL; want "
			   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]", url);
	return -1;
}

char *osp_redis_url_name(const char *url)
{
	const char *p = url + 8, *end = p + strcspn(p, "/?#");
	const char *at = NULL, *colon;

	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (!at || strncmp(url, "redis://", 8))
		return xstrdup(url);
	colon = memchr(p, ':', (size_t)(at - p));
	if (!colon)
		return xstrdup(url);
	return xasprintf("%.*s:***%s", (int)(colon - url), url, at);
}

/* One command; a reply of type error is a failure, with its text. */
static redisReply *command(struct osp_redis *r, int argc, const char **argv,
			   char **cause)
{
	redisReply *rep;

	rep = redisCommandArgv(r->c, argc, argv, NULL);
	if (!rep) {
		*cause = xasprintf("redis '%s': %s", r->name,
				   r->c->errstr[0] ? r->c->errstr
						   : "connection lost");
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		*cause = xasprintf("redis '%s': %s %s", r->name, argv[0],
				   rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

int osp_redis_connect(struct osp_redis **out, const char *url, char **cause)
{
	struct timeval ct = { CONNECT_TIMEOUT_S, 0 };
	struct timeval tv = { COMMAND_TIMEOUT_S, 0 };
	struct osp_redis *r;
	struct url u;
	redisReply *rep;
	char dbs[16];

	*out = NULL;
	if (parse_url(&u, url, cause) < 0)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->name = osp_redis_url_name(url);
	r->c = redisConnectWithTimeout(u.host, u.port, ct);
	if (!r->c || r->c->err) {
		*cause = xasprintf("cannot connect to redis '%s': %s "
				   "(is redis-server running there?)",
				   r->name,
				   r->c ? r->c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(r->c, tv) != REDIS_OK) {
		*cause = xasprintf("redis '%s': cannot set a timeout",
				   r->name);
		goto fail;
	}
	if (u.password) {
		const char *argv[] = { "AUTH", u.user ? u.user : u.password,
				       u.password };

		rep = command(r, u.user ? 3 : 2, argv, cause);
		if (!rep)
			goto fail;
		freeReplyObject(rep);
	}
	if (u.db) {
		const char *argv[] = { "SELECT", dbs };

		snprintf(dbs, sizeof(dbs), "%d", u.db);
		rep = command(r, 2, argv, cause);
		if (!rep)
			goto fail;
		freeReplyObject(rep);
	}
	url_release(&u);
	*out = r;
	return 0;
fail:
	url_release(&u);
	osp_redis_free(r);
	return -1;
}

void osp_redis_free(struct osp_redis *r)
{
	if (!r)
		return;
	if (r->c)
		redisFree(r->c);
	for (size_t i = 0; i < r->ntaken; i++)
		free(r->taken[i].id);
	free(r->taken);
	free(r->name);
	free(r);
}

const char *osp_redis_name(const struct osp_redis *r)
{
	return r->name;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int osp_redis_trace_ids(struct osp_redis *r, char ***ids, size_t *n,
			char **cause)
{
	const size_t plen = strlen(OSP_REDIS_PREFIX);
	char **v = xcalloc(1, sizeof(*v));
	char cursor[32] = "0";
	size_t nv = 0, av = 1;

	do {
		const char *argv[] = { "SCAN", cursor, "MATCH",
				       OSP_REDIS_PREFIX "*", "COUNT", "1000" };
		redisReply *rep = command(r, 6, argv, cause), *keys;

		if (!rep)
			goto fail;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			*cause = xasprintf("redis '%s': SCAN answered "
					   "something else than a cursor "
					   "and keys", r->name);
			goto fail;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		keys = rep->element[1];
		for (size_t i = 0; i < keys->elements; i++) {
			redisReply *k = keys->element[i];

			if (k->type != REDIS_REPLY_STRING || k->len <= plen)
				continue;
			ALLOC_GROW(v, nv + 2, av);
			v[nv++] = xstrndup(k->str + plen, k->len - plen);
			v[nv] = NULL;
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0"));
	qsort(v, nv, sizeof(*v), cmp_str);
	/* SCAN may return a key twice */
	for (size_t i = 1, j = 1; i <= nv; i++) {
		if (i == nv) {
			nv = j;
			v[nv] = NULL;
			break;
		}
		if (strcmp(v[i], v[j - 1]))
			v[j++] = v[i];
		else
			free(v[i]);
	}
	*ids = v;
	*n = nv;
	return 0;
fail:
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	return -1;
}

/* The reply of one pipelined command; NULL with *cause on failure. */
static redisReply *next_reply(struct osp_redis *r, char **cause)
{
	void *rep = NULL;

	if (redisGetReply(r->c, &rep) != REDIS_OK || !rep) {
		*cause = xasprintf("redis '%s': %s", r->name,
				   r->c->errstr[0] ? r->c->errstr
						   : "connection lost");
		return NULL;
	}
	return rep;
}

int osp_redis_read(struct osp_redis *r, const char *const *ids, size_t n,
		   osp_redis_note_fn *fn, void *payload, uint64_t *notes,
		   char **cause)
{
	struct strbuf key = STRBUF_INIT;
	int ret = -1;

	for (size_t b = 0; b < n; b += BATCH) {
		size_t end = b + BATCH < n ? b + BATCH : n;

		for (size_t i = b; i < end; i++) {
			const char *argv[] = { "LRANGE", NULL, "0", "-1" };

			strbuf_reset(&key);
			strbuf_addf(&key, "%s%s", OSP_REDIS_PREFIX, ids[i]);
			argv[1] = key.buf;
			if (redisAppendCommandArgv(r->c, 4, argv, NULL) !=
			    REDIS_OK) {
				*cause = xasprintf("redis '%s': out of memory",
						   r->name);
				goto out;
			}
		}
		for (size_t i = b; i < end; i++) {
			redisReply *rep = next_reply(r, cause);

			if (!rep)
				goto out;
			if (rep->type != REDIS_REPLY_ARRAY) {
				*cause = xasprintf(
					"redis '%s': LRANGE %s%s: %s", r->name,
					OSP_REDIS_PREFIX, ids[i],
					rep->type == REDIS_REPLY_ERROR
						? rep->str
						: "not a list");
				freeReplyObject(rep);
				goto out;
			}
			/* LPUSH puts the newest first: oldest first here */
			for (size_t j = rep->elements; j-- > 0;) {
				redisReply *e = rep->element[j];

				if (e->type == REDIS_REPLY_STRING)
					fn(e->str, e->len, payload);
			}
			if (notes)
				*notes += rep->elements;
			ALLOC_GROW(r->taken, r->ntaken + 1, r->ataken);
			r->taken[r->ntaken].id = xstrdup(ids[i]);
			r->taken[r->ntaken++].n = (long long)rep->elements;
			freeReplyObject(rep);
		}
	}
	ret = 0;
out:
	strbuf_release(&key);
	return ret;
}

int osp_redis_delete_read(struct osp_redis *r, uint64_t *deleted,
			  char **cause)
{
	struct strbuf key = STRBUF_INIT, key2 = STRBUF_INIT;
	char stop[32];
	size_t sent = 0;
	int ret = -1;

	for (size_t b = 0; b < r->ntaken; b += BATCH) {
		size_t end = b + BATCH < r->ntaken ? b + BATCH : r->ntaken;

		sent = 0;
		for (size_t i = b; i < end; i++) {
			const char *trim[] = { "LTRIM", NULL, "0", stop };
			const char *del[] = { "DEL", NULL };
			struct taken *t = &r->taken[i];

			strbuf_reset(&key);
			strbuf_addf(&key, "%s%s", OSP_REDIS_PREFIX, t->id);
			strbuf_reset(&key2);
			strbuf_addf(&key2, "%s%s", OSP_REDIS_ERROR_PREFIX,
				    t->id);
			if (!t->n)
				continue;
			/* The oldest t->n entries are the last ones. */
			snprintf(stop, sizeof(stop), "%lld", -(t->n + 1));
			trim[1] = key.buf;
			del[1] = key2.buf;
			if (redisAppendCommandArgv(r->c, 4, trim, NULL) !=
				    REDIS_OK ||
			    redisAppendCommandArgv(r->c, 2, del, NULL) !=
				    REDIS_OK) {
				*cause = xasprintf("redis '%s': out of memory",
						   r->name);
				goto out;
			}
			sent += 2;
		}
		for (size_t i = 0; i < sent; i++) {
			redisReply *rep = next_reply(r, cause);
			int type;

			if (!rep)
				goto out;
			type = rep->type;
			if (type == REDIS_REPLY_ERROR)
				*cause = xasprintf("redis '%s': cannot delete "
						   "what was read: %s",
						   r->name, rep->str);
			freeReplyObject(rep);
			if (type == REDIS_REPLY_ERROR)
				goto out;
		}
		for (size_t i = b; i < end; i++)
			if (deleted)
				*deleted += (uint64_t)r->taken[i].n;
	}
	ret = 0;
out:
	for (size_t i = 0; i < r->ntaken; i++)
		free(r->taken[i].id);
	r->ntaken = 0;
	strbuf_release(&key);
	strbuf_release(&key2);
	return ret;
}
