/* svc-compute.c: the compute service, shaped like nova-compute: a build is
 * an RPC cast run in its own thread: a port from network, the image from
 * image (streamed, checked), the disk made by an external command, the
 * image compressed with zlib, the result reported to api. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

extern char **environ;

static const char compute_schema[] =
	"CREATE TABLE instances (id TEXT PRIMARY KEY, host TEXT NOT NULL,"
	" status TEXT NOT NULL, port_id TEXT, ip_address TEXT, dir TEXT,"
	" delete_requested INTEGER NOT NULL DEFAULT 0,"
	" created_at TEXT NOT NULL);";

/* The builds running, waited for at shutdown. Build threads are detached
 * so that a long run does not pile up unjoined threads. */
struct compute_state {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned running;
};

struct build {
	struct refstack *rs;
	struct htrace_context ctx;
	bool has_ctx;
	char id[40];
	char host[40];
	char image_id[72];
	char network_id[40];
	char token[80];
	int64_t disk_gb;
	/* filled as the build goes */
	char port_id[40];
	char ip[16];
	char *dir;
	char *fault;
};

static int compute_start(struct refstack *rs, char **cause)
{
	struct compute_state *st = xcalloc(1, sizeof(*st));
	char *dir = xasprintf("%s/instances", rs->data_dir);

	if (rs_mkdirs(dir) < 0) {
		*cause = xasprintf("cannot create '%s': %s", dir,
				   strerror(errno));
		free(dir);
		free(st);
		return -1;
	}
	free(dir);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->idle, NULL);
	rs->priv = st;
	return 0;
}

static void compute_stop(struct refstack *rs)
{
	struct compute_state *st = rs->priv;

	if (!st)
		return;
	/* The cast worker is stopped: no new builds can start. */
	pthread_mutex_lock(&st->lock);
	while (st->running)
		pthread_cond_wait(&st->idle, &st->lock);
	pthread_mutex_unlock(&st->lock);
	pthread_cond_destroy(&st->idle);
	pthread_mutex_destroy(&st->lock);
	free(st);
	rs->priv = NULL;
}

static char *auth_header(const char *token)
{
	return xasprintf("X-Auth-Token: %s", token);
}

static int port_create(struct build *b, char **cause)
{
	struct rs_http_result res;
	char *h[2] = { auth_header(b->token), NULL }, *body;
	json_t *root = NULL, *port, *ip;
	int ret = -1;

	rs_http_result_init(&res);
	body = xasprintf("{\"port\":{\"network_id\":\"%s\","
			 "\"device_id\":\"%s\"}}",
			 b->network_id, b->id);
	if (rs_http(b->rs, "POST", b->rs->peer[RS_PEER_NETWORK], "/v2.0/ports",
		    "/v2.0/ports", (const char *const *)h, body, &res, NULL,
		    NULL, cause) < 0)
		goto out;
	if (res.status != 201) {
		*cause = xasprintf("port create: network answered %ld",
				   res.status);
		goto out;
	}
	root = json_loadb(res.body.buf, res.body.len, 0, NULL);
	port = json_object_get(root, "port");
	ip = json_object_get(json_array_get(json_object_get(port, "fixed_ips"),
					    0),
			     "ip_address");
	if (!json_string_value(json_object_get(port, "id")) ||
	    !json_string_value(ip)) {
		*cause = xstrdup("port create: bad port body");
		goto out;
	}
	snprintf(b->port_id, sizeof(b->port_id), "%s",
		 json_string_value(json_object_get(port, "id")));
	snprintf(b->ip, sizeof(b->ip), "%s", json_string_value(ip));
	ret = 0;
out:
	json_decref(root);
	free(body);
	free(h[0]);
	rs_http_result_release(&res);
	return ret;
}

static void port_delete(struct refstack *rs, const char *port_id,
			const char *token)
{
	struct rs_http_result res;
	char *h[2] = { auth_header(token), NULL }, *path, *cause = NULL;

	rs_http_result_init(&res);
	path = xasprintf("/v2.0/ports/%s", port_id);
	if (rs_http(rs, "DELETE", rs->peer[RS_PEER_NETWORK], path,
		    "/v2.0/ports/{id}", (const char *const *)h, NULL, &res,
		    NULL, NULL, &cause) < 0 ||
	    (res.status != 204 && res.status != 404))
		fprintf(stderr, "harness-refstack: compute: port %s: %s\n",
			port_id, cause ? cause : "delete failed");
	free(cause);
	free(path);
	free(h[0]);
	rs_http_result_release(&res);
}

struct download {
	FILE *f;
	EVP_MD_CTX *md;
	uint64_t bytes;
};

static int download_sink(const void *data, size_t len, void *payload)
{
	struct download *d = payload;

	d->bytes += len;
	EVP_DigestUpdate(d->md, data, len);
	return fwrite(data, 1, len, d->f) == len ? 0 : -1;
}

/* Show the image, stream its file to DIR/image and check its md5. */
static int image_fetch(struct build *b, const char *path, char **cause)
{
	struct refstack *rs = b->rs;
	struct rs_http_result res;
	struct download d = { 0 };
	char *h[2] = { auth_header(b->token), NULL }, *url_path, md5[33] = "";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	char want[33] = "";
	json_int_t size = 0;
	json_t *img;
	int ret = -1;

	rs_http_result_init(&res);
	url_path = xasprintf("/v2/images/%s", b->image_id);
	if (rs_http(rs, "GET", rs->peer[RS_PEER_IMAGE], url_path,
		    "/v2/images/{id}", (const char *const *)h, NULL, &res,
		    NULL, NULL, cause) < 0)
		goto out;
	if (res.status != 200) {
		*cause = xasprintf("image %s: image answered %ld", b->image_id,
				   res.status);
		goto out;
	}
	img = json_loadb(res.body.buf, res.body.len, 0, NULL);
	snprintf(want, sizeof(want), "%s",
		 json_string_value(json_object_get(img, "checksum")) ?: "");
	size = json_integer_value(json_object_get(img, "size"));
	json_decref(img);

	d.f = fopen(path, "wb");
	if (!d.f) {
		*cause = xasprintf("cannot create '%s': %s", path,
				   strerror(errno));
		goto out;
	}
	d.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(d.md, EVP_md5(), NULL);
	free(url_path);
	url_path = xasprintf("/v2/images/%s/file", b->image_id);
	rs_http_result_release(&res);
	rs_http_result_init(&res);
	if (rs_http(rs, "GET", rs->peer[RS_PEER_IMAGE], url_path,
		    "/v2/images/{id}/file", (const char *const *)h, NULL, &res,
		    download_sink, &d, cause) < 0)
		goto out;
	if (res.status != 200) {
		*cause = xasprintf("image %s download: image answered %ld",
				   b->image_id, res.status);
		goto out;
	}
	EVP_DigestFinal_ex(d.md, digest, &dlen);
	for (unsigned i = 0; i < dlen && i < 16; i++)
		sprintf(md5 + 2 * i, "%02x", digest[i]);
	if ((json_int_t)d.bytes != size || strcmp(md5, want)) {
		*cause = xasprintf("image %s: got %llu bytes md5 %s, want %lld "
				   "bytes md5 %s",
				   b->image_id, (unsigned long long)d.bytes,
				   md5, (long long)size, want);
		goto out;
	}
	ret = 0;
out:
	if (d.f && fclose(d.f) && !ret) {
		*cause = xasprintf("cannot write '%s': %s", path,
				   strerror(errno));
		ret = -1;
	}
	EVP_MD_CTX_free(d.md);
	free(url_path);
	free(h[0]);
	rs_http_result_release(&res);
	return ret;
}

/* The disk, made by an external command with the trace in its
 * environment, as nova runs qemu-img. */
static int disk_create(struct build *b, const char *path, char **cause)
{
	char size[32], tp[12 + HTRACE_TRACEPARENT_SIZE];
	const char *argv[] = { "truncate", "-s", size, path, NULL };
	struct htrace_span *span;
	char **env;
	size_t n = 0, j = 0;
	pid_t pid;
	int status = 0, rc;

	snprintf(size, sizeof(size), "%lldG", (long long)b->disk_gb);
	span = htrace_exec_begin(argv);
	rs_knob_spend(b->rs, span, HTRACE_KIND_EXEC, "truncate");
	while (environ[n])
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TRACEPARENT=", 12))
			env[j++] = environ[i];
	if (htrace_exec_env(tp, sizeof(tp)) == 0)
		env[j++] = tp;
	rc = posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, env);
	free(env);
	if (rc) {
		*cause = xasprintf("cannot run '%s': %s", argv[0],
				   strerror(rc));
		htrace_set_error(span, *cause);
		htrace_end(span);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	htrace_attr_int(span, HTRACE_ATTR_PROCESS_PID, pid);
	htrace_exec_end(span, status);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		*cause = xasprintf("'truncate -s %s %s' failed (status %d)",
				   size, path, status);
		return -1;
	}
	return 0;
}

/* Compress the image with zlib into DIR/image.gz (a cache, as nova keeps
 * base images), with its crc32: a native library call. */
static int image_compress(struct build *b, const char *in_path,
			  const char *out_path, char **cause)
{
	struct htrace_span *span = rs_begin(b->rs, HTRACE_KIND_LIB,
					    "zlib.deflate");
	unsigned char in[65536], out[65536];
	FILE *fin = fopen(in_path, "rb"), *fout = fopen(out_path, "wb");
	uint64_t bytes_in = 0, bytes_out = 0;
	uLong crc = crc32(0, NULL, 0);
	z_stream zs = { 0 };
	int ret = -1, flush, zrc;

	htrace_attr_str(span, HTRACE_ATTR_CODE_FUNCTION_NAME, "deflate");
	if (!fin || !fout) {
		*cause = xasprintf("cannot open '%s': %s",
				   fin ? out_path : in_path, strerror(errno));
		goto out;
	}
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		*cause = xstrdup("deflateInit2 failed");
		goto out;
	}
	do {
		size_t n = fread(in, 1, sizeof(in), fin);

		if (ferror(fin)) {
			*cause = xasprintf("cannot read '%s'", in_path);
			deflateEnd(&zs);
			goto out;
		}
		crc = crc32(crc, in, (uInt)n);
		bytes_in += n;
		flush = feof(fin) ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			zrc = deflate(&zs, flush);
			n = sizeof(out) - zs.avail_out;
			bytes_out += n;
			if (fwrite(out, 1, n, fout) != n) {
				*cause = xasprintf("cannot write '%s'",
						   out_path);
				deflateEnd(&zs);
				goto out;
			}
		} while (zs.avail_out == 0);
	} while (flush != Z_FINISH);
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END) {
		*cause = xstrdup("deflate did not finish");
		goto out;
	}
	htrace_attr_int(span, "zlib.bytes_in", (int64_t)bytes_in);
	htrace_attr_int(span, "zlib.bytes_out", (int64_t)bytes_out);
	htrace_attr_int(span, "zlib.crc32", (int64_t)crc);
	ret = 0;
out:
	if (fin)
		fclose(fin);
	if (fout && fclose(fout) && !ret) {
		*cause = xasprintf("cannot write '%s'", out_path);
		ret = -1;
	}
	if (ret < 0)
		htrace_set_error(span, *cause);
	htrace_end(span);
	return ret;
}

/* Remove DIR and the files in it. */
static void dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

static void report(struct build *b, const char *status)
{
	json_t *args = json_pack("{s:s,s:s}", "instance_id", b->id, "status",
				 status);
	char *cause = NULL;

	if (*b->ip && !strcmp(status, "ACTIVE"))
		json_object_set_new(args, "ip_address", json_string(b->ip));
	if (b->fault)
		json_object_set_new(args, "fault", json_string(b->fault));
	if (rpc_cast(b->rs, b->rs->peer[RS_PEER_API], "api", "instance_update",
		     args, b->token, &cause) < 0) {
		fprintf(stderr, "harness-refstack: compute: report %s: %s\n",
			b->id, cause);
		free(cause);
	}
	json_decref(args);
}

static void release_claim(struct refstack *rs, const char *id,
			  const char *token)
{
	json_t *args = json_pack("{s:s}", "instance_id", id), *result = NULL;
	char *cause = NULL;

	if (rpc_call(rs, rs->peer[RS_PEER_SCHEDULER], "scheduler",
		     "release_claim", args, token, &result, &cause) < 0) {
		fprintf(stderr, "harness-refstack: compute: release %s: %s\n",
			id, cause);
		free(cause);
	}
	json_decref(result);
	json_decref(args);
}

/* Undo a build: port, files, row, claim. */
static void instance_destroy(struct refstack *rs, const char *id,
			     const char *port_id, const char *dir,
			     const char *token)
{
	const char *p[] = { id };
	char *cause = NULL;

	if (port_id && *port_id)
		port_delete(rs, port_id, token);
	if (dir && *dir)
		dir_remove(dir);
	if (rs_db_exec_texts(rs, "DELETE FROM instances WHERE id = ?", p, 1,
			     &cause) < 0) {
		fprintf(stderr, "harness-refstack: compute: %s\n", cause);
		free(cause);
	}
	release_claim(rs, id, token);
}

static int build_steps(struct build *b, char **cause)
{
	struct refstack *rs = b->rs;
	char *image = NULL, *disk = NULL, *gz = NULL;
	const char *p[4];
	int ret = -1;

	if (port_create(b, cause) < 0)
		return -1;
	p[0] = b->port_id, p[1] = b->ip, p[2] = b->dir, p[3] = b->id;
	if (rs_db_exec_texts(rs,
			     "UPDATE instances SET port_id = ?, ip_address = ?,"
			     " dir = ? WHERE id = ?",
			     p, 4, cause) < 0)
		return -1;
	if (rs_mkdirs(b->dir) < 0) {
		*cause = xasprintf("cannot create '%s': %s", b->dir,
				   strerror(errno));
		return -1;
	}
	image = xasprintf("%s/image", b->dir);
	disk = xasprintf("%s/disk", b->dir);
	gz = xasprintf("%s/image.gz", b->dir);
	if (image_fetch(b, image, cause) < 0 ||
	    disk_create(b, disk, cause) < 0 ||
	    image_compress(b, image, gz, cause) < 0)
		goto out;
	/* The failure knob: a real failed build, after the port and the
	 * disk exist, so the clean-up path runs too. */
	if (rs->knobs.build_failure_rate > 0 &&
	    rs_random(rs) < rs->knobs.build_failure_rate) {
		*cause = xstrdup("build failed: injected by "
				 "build_failure_rate");
		goto out;
	}
	ret = 0;
out:
	free(image);
	free(disk);
	free(gz);
	return ret;
}

static void *build_main(void *arg)
{
	struct build *b = arg;
	struct refstack *rs = b->rs;
	struct compute_state *st = rs->priv;
	struct htrace_span *span;
	struct rs_stmt s;
	char *cause = NULL;
	bool failed, deleted = false;
	const char *p[2];

	if (b->has_ctx)
		htrace_attach(&b->ctx);
	span = rs_begin(rs, HTRACE_KIND_THREAD_MAIN, "compute.build_instance");
	htrace_attr_str(span, HTRACE_ATTR_THREAD_NAME, "build");
	failed = build_steps(b, &cause) < 0;
	if (failed) {
		htrace_set_error(span, cause);
		b->fault = cause;
		cause = NULL;
	}
	p[0] = failed ? "error" : "active";
	p[1] = b->id;
	if (rs_db_exec_texts(rs,
			     "UPDATE instances SET status = ? WHERE id = ?",
			     p, 2, &cause) < 0) {
		free(cause);
		cause = NULL;
	}
	/* A delete that came while building was left to us. */
	rs_db_lock(rs);
	if (rs_db_prepare(rs, &s,
			  "SELECT delete_requested FROM instances WHERE id = ?",
			  &cause) == 0) {
		rs_db_bind_text(&s, 1, b->id);
		if (rs_db_step(rs, &s, &cause) > 0)
			deleted = rs_db_int(&s, 0) != 0;
		rs_db_finish(&s);
	}
	rs_db_unlock(rs);
	free(cause);
	cause = NULL;
	if (deleted) {
		instance_destroy(rs, b->id, b->port_id, b->dir, b->token);
	} else if (failed) {
		/* Keep the claim (nova does, until the server is deleted),
		 * free the port and the files. */
		if (*b->port_id)
			port_delete(rs, b->port_id, b->token);
		dir_remove(b->dir);
		p[0] = b->id;
		if (rs_db_exec_texts(rs,
				     "UPDATE instances SET port_id = NULL,"
				     " dir = NULL WHERE id = ?",
				     p, 1, &cause) < 0)
			free(cause);
		report(b, "ERROR");
	} else {
		report(b, "ACTIVE");
	}
	htrace_end(span);
	htrace_detach();
	free(b->dir);
	free(b->fault);
	free(b);
	pthread_mutex_lock(&st->lock);
	if (!--st->running)
		pthread_cond_broadcast(&st->idle);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static void copy_arg(char *dst, size_t size, const json_t *args,
		     const char *key)
{
	snprintf(dst, size, "%s",
		 json_string_value(json_object_get(args, key)) ?: "");
}

static int build_and_run_instance(struct refstack *rs,
				  const struct rpc_msg *msg, json_t **result,
				  char **cause)
{
	struct compute_state *st = rs->priv;
	struct build *b = xcalloc(1, sizeof(*b));
	struct htrace_span *span;
	pthread_attr_t attr;
	char now[40];
	const char *p[3];
	pthread_t t;
	int rc;

	b->rs = rs;
	copy_arg(b->id, sizeof(b->id), msg->args, "instance_id");
	copy_arg(b->host, sizeof(b->host), msg->args, "host");
	copy_arg(b->image_id, sizeof(b->image_id), msg->args, "image_id");
	copy_arg(b->network_id, sizeof(b->network_id), msg->args,
		 "network_id");
	snprintf(b->token, sizeof(b->token), "%s",
		 msg->auth_token ? msg->auth_token : "");
	b->disk_gb = json_integer_value(
		json_object_get(json_object_get(msg->args, "flavor"),
				"disk_gb"));
	if (!*b->id || !*b->image_id || !*b->network_id || b->disk_gb <= 0 ||
	    strchr(b->id, '/') || strstr(b->id, "..")) {
		*cause = xstrdup("build_and_run_instance: want instance_id, "
				 "image_id, network_id and flavor.disk_gb");
		free(b);
		return -1;
	}
	b->dir = xasprintf("%s/instances/%s", rs->data_dir, b->id);
	rs_iso_time(now, sizeof(now), 0);
	p[0] = b->id, p[1] = b->host, p[2] = now;
	if (rs_db_exec_texts(rs,
			     "INSERT INTO instances (id, host, status,"
			     " created_at) VALUES (?, ?, 'building', ?)",
			     p, 3, cause) < 0) {
		free(b->dir);
		free(b);
		return -1;
	}
	span = rs_begin(rs, HTRACE_KIND_THREAD_SPAWN, "compute.build_instance");
	b->has_ctx = htrace_span_context(span, &b->ctx) == 0;
	*result = json_pack("{s:s}", "instance_id", b->id);
	pthread_mutex_lock(&st->lock);
	st->running++;
	pthread_mutex_unlock(&st->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, build_main, b);
	pthread_attr_destroy(&attr);
	htrace_end(span);
	if (rc) {
		*cause = xasprintf("cannot start a build thread: %s",
				   strerror(rc));
		pthread_mutex_lock(&st->lock);
		st->running--;
		pthread_mutex_unlock(&st->lock);
		free(b->dir);
		free(b);
		return -1;
	}
	return 0;
}

static int terminate_instance(struct refstack *rs, const struct rpc_msg *msg,
			      json_t **result, char **cause)
{
	const char *id = json_string_value(
		json_object_get(msg->args, "instance_id"));
	const char *token = msg->auth_token ? msg->auth_token : "";
	char status[16] = "", port_id[40] = "", *dir = NULL;
	struct rs_stmt s;
	int rc;

	if (!id) {
		*cause = xstrdup("terminate_instance: want instance_id");
		return -1;
	}
	rs_db_lock(rs);
	rc = rs_db_prepare(rs, &s,
			   "SELECT status, port_id, dir FROM instances"
			   " WHERE id = ?",
			   cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, id);
		rc = rs_db_step(rs, &s, cause);
		if (rc > 0) {
			snprintf(status, sizeof(status), "%s",
				 rs_db_text(&s, 0));
			snprintf(port_id, sizeof(port_id), "%s",
				 rs_db_text(&s, 1));
			dir = xstrdup(rs_db_text(&s, 2));
		}
		rs_db_finish(&s);
	}
	if (rc > 0 && !strcmp(status, "building")) {
		/* The build thread owns it until it ends: leave it a note. */
		rc = rs_db_prepare(rs, &s,
				   "UPDATE instances SET delete_requested = 1"
				   " WHERE id = ?",
				   cause);
		if (rc == 0) {
			rs_db_bind_text(&s, 1, id);
			rc = rs_db_step(rs, &s, cause);
			rs_db_finish(&s);
		}
		rs_db_unlock(rs);
		free(dir);
		if (rc < 0)
			return -1;
		*result = json_pack("{s:s}", "state", "deferred");
		return 0;
	}
	rs_db_unlock(rs);
	if (rc < 0) {
		free(dir);
		return -1;
	}
	/* Gone from compute (or never arrived): the claim still goes. */
	instance_destroy(rs, id, port_id, dir, token);
	free(dir);
	*result = json_pack("{s:s}", "state", "deleted");
	return 0;
}

static const struct rs_rpc_method compute_rpc[] = {
	{ "build_and_run_instance", build_and_run_instance },
	{ "terminate_instance", terminate_instance },
	{ NULL, NULL },
};

const struct rs_service rs_compute_service = {
	.name = "compute",
	.schema = compute_schema,
	.start = compute_start,
	.stop = compute_stop,
	.rpc = compute_rpc,
	.routes = NULL,
};
