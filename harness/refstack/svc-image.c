/* svc-image.c: the image service, shaped like Glance v2: image records in
 * the database, image files streamed from a deterministic generator. */
#include "refstack/refstack.h"
#include "refstack/imagedata.h"

#include "util/error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char image_schema[] =
	"CREATE TABLE images (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" status TEXT NOT NULL, size INTEGER NOT NULL,"
	" checksum TEXT NOT NULL, disk_format TEXT NOT NULL,"
	" container_format TEXT NOT NULL, visibility TEXT NOT NULL,"
	" created_at TEXT NOT NULL);";

static const struct {
	const char *id, *name;
	uint64_t size;
} seed_images[] = {
	{ RS_IMAGE_CIRROS, "cirros-0.6.2-x86_64-disk", 512 * 1024 },
	{ "8f7e2c55-1d4b-4f1e-8c3a-5e9b0d2a7c22", "fedora-40-x86_64",
	  2 * 1024 * 1024 },
	{ "b2c4e6f8-3a5c-4e7a-9b1d-7f3e5a9c1d33", "ubuntu-24.04-amd64",
	  3 * 1024 * 1024 },
};

void rs_image_md5(const char *id, uint64_t size, char out[33])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[65536], digest[EVP_MAX_MD_SIZE];
	uint64_t seed = rs_image_seed(id);
	unsigned len = 0;

	EVP_DigestInit_ex(md, EVP_md5(), NULL);
	for (uint64_t pos = 0; pos < size;) {
		size_t n = size - pos < sizeof(buf) ? (size_t)(size - pos) :
						      sizeof(buf);

		rs_image_fill(seed, pos, buf, n);
		EVP_DigestUpdate(md, buf, n);
		pos += n;
	}
	EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	for (unsigned i = 0; i < len && i < 16; i++)
		sprintf(out + 2 * i, "%02x", digest[i]);
}

static int image_seed(struct refstack *rs, char **cause)
{
	char created[40];

	rs_iso_time(created, sizeof(created), 0);
	for (size_t i = 0; i < ARRAY_SIZE(seed_images); i++) {
		struct rs_stmt s;
		char md5[33];
		int rc;

		rs_image_md5(seed_images[i].id, seed_images[i].size, md5);
		if (rs_db_prepare(rs, &s,
				  "INSERT INTO images (id, name, status, size,"
				  " checksum, disk_format, container_format,"
				  " visibility, created_at) VALUES"
				  " (?, ?, 'active', ?, ?, 'qcow2', 'bare',"
				  " 'public', ?)",
				  cause) < 0)
			return -1;
		rs_db_bind_text(&s, 1, seed_images[i].id);
		rs_db_bind_text(&s, 2, seed_images[i].name);
		rs_db_bind_int(&s, 3, (int64_t)seed_images[i].size);
		rs_db_bind_text(&s, 4, md5);
		rs_db_bind_text(&s, 5, created);
		rc = rs_db_step(rs, &s, cause);
		rs_db_finish(&s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

#define IMAGE_COLUMNS                                                          \
	"id, name, status, size, checksum, disk_format, container_format,"     \
	" visibility, created_at"

static json_t *image_json(struct rs_stmt *s)
{
	char file[128], self[128];

	snprintf(file, sizeof(file), "/v2/images/%s/file", rs_db_text(s, 0));
	snprintf(self, sizeof(self), "/v2/images/%s", rs_db_text(s, 0));
	return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
			 "id", rs_db_text(s, 0), "name", rs_db_text(s, 1),
			 "status", rs_db_text(s, 2), "size",
			 (json_int_t)rs_db_int(s, 3), "checksum",
			 rs_db_text(s, 4), "disk_format", rs_db_text(s, 5),
			 "container_format", rs_db_text(s, 6), "visibility",
			 rs_db_text(s, 7), "created_at", rs_db_text(s, 8),
			 "updated_at", rs_db_text(s, 8), "file", file, "self",
			 self);
}

/* The image row as JSON, or NULL (not found, or error in *cause). */
static json_t *image_find(struct refstack *rs, const char *id, char **cause)
{
	struct rs_stmt s;
	json_t *img = NULL;

	rs_db_lock(rs);
	if (rs_db_prepare(rs, &s,
			  "SELECT " IMAGE_COLUMNS " FROM images WHERE id = ?",
			  cause) == 0) {
		rs_db_bind_text(&s, 1, id);
		if (rs_db_step(rs, &s, cause) > 0)
			img = image_json(&s);
		rs_db_finish(&s);
	}
	rs_db_unlock(rs);
	return img;
}

static void show_image(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;
	char *cause = NULL;
	json_t *img;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	img = image_find(req->rs, req->params[0], &cause);
	if (img)
		rs_reply_json(resp, 200, img);
	else if (cause)
		rs_reply_error(resp, 500, "%s", cause);
	else
		rs_reply_error(resp, 404, "no image found with ID %s",
			       req->params[0]);
	free(cause);
}

static json_t *image_row(struct rs_stmt *s, void *arg)
{
	return image_json(s);
}

static void list_images(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rs_reply_rows(req, resp, "images",
		      "SELECT " IMAGE_COLUMNS " FROM images ORDER BY name",
		      NULL, image_row, NULL);
}

struct image_stream {
	uint64_t seed;
	uint64_t size;
};

static long stream_read(void *payload, uint64_t pos, char *buf, size_t max)
{
	struct image_stream *st = payload;
	size_t n = st->size - pos < max ? (size_t)(st->size - pos) : max;

	rs_image_fill(st->seed, pos, (unsigned char *)buf, n);
	return (long)n;
}

static void download_image(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;
	struct image_stream *st;
	char *cause = NULL;
	json_t *img;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	img = image_find(req->rs, req->params[0], &cause);
	if (!img) {
		if (cause)
			rs_reply_error(resp, 500, "%s", cause);
		else
			rs_reply_error(resp, 404, "no image found with ID %s",
				       req->params[0]);
		free(cause);
		return;
	}
	st = xcalloc(1, sizeof(*st));
	st->seed = rs_image_seed(req->params[0]);
	resp->status = 200;
	resp->stream_size = (uint64_t)json_integer_value(
		json_object_get(img, "size"));
	st->size = resp->stream_size;
	resp->stream_read = stream_read;
	resp->stream_free = free;
	resp->stream_payload = st;
	resp->header_name = xstrdup("Content-MD5");
	resp->header_value =
		xstrdup(json_string_value(json_object_get(img, "checksum")));
	json_decref(img);
}

static const struct rs_route image_routes[] = {
	{ "GET", "/v2/images", list_images },
	{ "GET", "/v2/images/{id}", show_image },
	{ "GET", "/v2/images/{id}/file", download_image },
	{ NULL, NULL, NULL },
};

const struct rs_service rs_image_service = {
	.name = "image",
	.schema = image_schema,
	.seed = image_seed,
	.routes = image_routes,
};
