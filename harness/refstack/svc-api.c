/* svc-api.c: the compute API, shaped like nova-api: server create, show,
 * list and delete. A create checks the token, the image and the flavor,
 * records the instance, asks the scheduler for a host (RPC call) and hands
 * the build to compute (RPC cast); compute reports back with
 * instance_update. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char api_schema[] =
	"CREATE TABLE flavors (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" ram_mb INTEGER NOT NULL, vcpus INTEGER NOT NULL,"
	" disk_gb INTEGER NOT NULL);"
	"INSERT INTO flavors VALUES ('1', 'm1.tiny', 512, 1, 1),"
	" ('2', 'm1.small', 2048, 1, 20), ('3', 'm1.medium', 4096, 2, 40),"
	" ('4', 'm1.large', 8192, 4, 80), ('5', 'm1.xlarge', 16384, 8, 160);"
	"CREATE TABLE instances (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" user_id TEXT NOT NULL, project_id TEXT NOT NULL,"
	" image_id TEXT NOT NULL, flavor_id TEXT NOT NULL,"
	" status TEXT NOT NULL, host TEXT, ip_address TEXT, fault TEXT,"
	" created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
	" deleted INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX instances_project ON instances(project_id, deleted);";

struct flavor {
	char id[16];
	char name[32];
	int64_t ram_mb, vcpus, disk_gb;
};

/* 1 found, 0 not, -1 error. */
static int flavor_find(struct refstack *rs, const char *id, struct flavor *f,
		       char **cause)
{
	struct rs_stmt s;
	int rc;

	rs_db_lock(rs);
	rc = rs_db_prepare(rs, &s,
			   "SELECT id, name, ram_mb, vcpus, disk_gb"
			   " FROM flavors WHERE id = ?",
			   cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, id);
		rc = rs_db_step(rs, &s, cause);
		if (rc > 0) {
			snprintf(f->id, sizeof(f->id), "%s", rs_db_text(&s, 0));
			snprintf(f->name, sizeof(f->name), "%s",
				 rs_db_text(&s, 1));
			f->ram_mb = rs_db_int(&s, 2);
			f->vcpus = rs_db_int(&s, 3);
			f->disk_gb = rs_db_int(&s, 4);
		}
		rs_db_finish(&s);
	}
	rs_db_unlock(rs);
	return rc;
}

static int set_status(struct refstack *rs, const char *id, const char *status,
		      const char *host, const char *ip, const char *fault,
		      char **cause)
{
	char now[40];
	const char *p[] = { status, host, ip, fault, now, id };

	rs_iso_time(now, sizeof(now), 0);
	return rs_db_exec_texts(rs,
				"UPDATE instances SET status = ?1,"
				" host = COALESCE(?2, host),"
				" ip_address = COALESCE(?3, ip_address),"
				" fault = COALESCE(?4, fault), updated_at = ?5"
				" WHERE id = ?6 AND deleted = 0",
				p, ARRAY_SIZE(p), cause);
}

#define SERVER_COLUMNS                                                         \
	"id, name, user_id, project_id, image_id, flavor_id, status, host,"    \
	" ip_address, fault, created_at, updated_at"

static json_t *server_json(struct rs_stmt *s)
{
	json_t *server, *addresses = json_object();
	const char *ip = rs_db_text(s, 8), *fault = rs_db_text(s, 9);

	if (*ip)
		json_object_set_new(addresses, "private",
				    json_pack("[{s:s,s:i}]", "addr", ip,
					      "version", 4));
	server = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:{s:s},s:s,s:s,s:s,"
			   "s:s,s:o}",
			   "id", rs_db_text(s, 0), "name", rs_db_text(s, 1),
			   "user_id", rs_db_text(s, 2), "tenant_id",
			   rs_db_text(s, 3), "image", "id", rs_db_text(s, 4),
			   "flavor", "id", rs_db_text(s, 5), "status",
			   rs_db_text(s, 6), "OS-EXT-SRV-ATTR:host",
			   rs_db_text(s, 7), "created", rs_db_text(s, 10),
			   "updated", rs_db_text(s, 11), "addresses",
			   addresses);
	if (*fault)
		json_object_set_new(server, "fault",
				    json_pack("{s:s}", "message", fault));
	return server;
}

static void create_server(struct rs_req *req, struct rs_resp *resp)
{
	struct refstack *rs = req->rs;
	struct rs_http_result res;
	struct rs_auth auth;
	struct flavor flavor;
	json_t *root, *server, *args = NULL, *result = NULL;
	const char *name, *image_ref, *flavor_ref, *host;
	char id[37], now[40], *path = NULL, *cause = NULL, *h[2] = { NULL };
	int rc;

	rs_http_result_init(&res);
	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	root = rs_req_json(req, resp);
	if (!root)
		return;
	server = json_object_get(root, "server");
	name = json_string_value(json_object_get(server, "name"));
	image_ref = json_string_value(json_object_get(server, "imageRef"));
	flavor_ref = json_string_value(json_object_get(server, "flavorRef"));
	if (!json_is_object(server) || !name || !image_ref || !flavor_ref) {
		rs_reply_error(resp, 400,
			       "expecting server.name, server.imageRef and "
			       "server.flavorRef");
		goto out;
	}
	if (!*name || strlen(name) > 255) {
		rs_reply_error(resp, 400, "invalid server name");
		goto out;
	}
	rc = flavor_find(rs, flavor_ref, &flavor, &cause);
	if (rc <= 0) {
		if (rc < 0)
			rs_reply_error(resp, 500, "%s", cause);
		else
			rs_reply_error(resp, 400,
				       "flavor %s could not be found",
				       flavor_ref);
		goto out;
	}
	/* The image, as the user sees it. */
	/* Only what an id is made of goes into the image service's URL. */
	if (!*image_ref || strlen(image_ref) > 64 ||
	    strspn(image_ref, "0123456789abcdefABCDEF-") !=
		    strlen(image_ref)) {
		rs_reply_error(resp, 400, "image %s could not be found",
			       image_ref);
		goto out;
	}
	path = xasprintf("/v2/images/%s", image_ref);
	h[0] = xasprintf("X-Auth-Token: %s", auth.token);
	if (rs_http(rs, "GET", rs->peer[RS_PEER_IMAGE], path,
		    "/v2/images/{id}", (const char *const *)h, NULL, &res,
		    NULL, NULL, &cause) < 0) {
		rs_reply_error(resp, 503, "image service unavailable: %s",
			       cause);
		goto out;
	}
	if (res.status == 404) {
		rs_reply_error(resp, 400, "image %s could not be found",
			       image_ref);
		goto out;
	}
	if (res.status != 200) {
		rs_reply_error(resp, 503, "image service answered %ld",
			       res.status);
		goto out;
	}

	rs_uuid(rs, id);
	rs_iso_time(now, sizeof(now), 0);
	{
		const char *p[] = { id, name, auth.user_id, auth.project_id,
				    image_ref, flavor.id, now };

		rc = rs_db_exec_texts(rs,
				      "INSERT INTO instances (id, name,"
				      " user_id, project_id, image_id,"
				      " flavor_id, status, created_at,"
				      " updated_at) VALUES (?1, ?2, ?3, ?4,"
				      " ?5, ?6, 'BUILD', ?7, ?7)",
				      p, ARRAY_SIZE(p), &cause);
		if (rc < 0) {
			rs_reply_error(resp, 500, "%s", cause);
			goto out;
		}
	}
	args = json_pack("{s:s,s:I,s:I}", "instance_id", id, "ram_mb",
			 (json_int_t)flavor.ram_mb, "vcpus",
			 (json_int_t)flavor.vcpus);
	if (rpc_call(rs, rs->peer[RS_PEER_SCHEDULER], "scheduler",
		     "select_destinations", args, auth.token, &result,
		     &cause) < 0) {
		/* As nova does: the request was accepted, the server is in
		 * ERROR with the reason as its fault. */
		char *ignored = NULL;

		set_status(rs, id, "ERROR", NULL, NULL, cause, &ignored);
		free(ignored);
		goto accepted;
	}
	host = json_string_value(json_object_get(result, "host"));
	set_status(rs, id, "BUILD", host, NULL, NULL, &cause);
	json_decref(args);
	args = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:I,s:I,s:I}}",
			 "instance_id", id, "host", host ? host : "",
			 "image_id", image_ref, "network_id",
			 RS_NETWORK_PRIVATE, "flavor", "id", flavor.id,
			 "ram_mb", (json_int_t)flavor.ram_mb, "vcpus",
			 (json_int_t)flavor.vcpus, "disk_gb",
			 (json_int_t)flavor.disk_gb);
	if (rpc_cast(rs, rs->peer[RS_PEER_COMPUTE], "compute",
		     "build_and_run_instance", args, auth.token, &cause) < 0) {
		char *ignored = NULL;

		set_status(rs, id, "ERROR", NULL, NULL, cause, &ignored);
		free(ignored);
	}
accepted:
	rs_reply_json(resp, 202,
		      json_pack("{s:{s:s,s:[{s:s,s:s}]}}", "server", "id", id,
				"links", "rel", "self", "href", id));
out:
	free(cause);
	free(path);
	free(h[0]);
	json_decref(args);
	json_decref(result);
	json_decref(root);
	rs_http_result_release(&res);
}

static void show_server(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;
	struct rs_stmt s;
	json_t *server = NULL;
	char *cause = NULL;
	int rc = -1;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rs_db_lock(req->rs);
	if (rs_db_prepare(req->rs, &s,
			  "SELECT " SERVER_COLUMNS " FROM instances"
			  " WHERE id = ? AND project_id = ? AND deleted = 0",
			  &cause) == 0) {
		rs_db_bind_text(&s, 1, req->params[0]);
		rs_db_bind_text(&s, 2, auth.project_id);
		rc = rs_db_step(req->rs, &s, &cause);
		if (rc > 0)
			server = server_json(&s);
		rs_db_finish(&s);
	}
	rs_db_unlock(req->rs);
	if (server)
		rs_reply_json(resp, 200, json_pack("{s:o}", "server", server));
	else if (rc < 0)
		rs_reply_error(resp, 500, "%s", cause);
	else
		rs_reply_error(resp, 404, "instance %s could not be found",
			       req->params[0]);
	free(cause);
}

/* A server in a list: in full when DETAIL points to true. */
static json_t *server_row(struct rs_stmt *s, void *detail)
{
	if (*(bool *)detail)
		return server_json(s);
	return json_pack("{s:s,s:s}", "id", rs_db_text(s, 0), "name",
			 rs_db_text(s, 1));
}

static void list_servers(struct rs_req *req, struct rs_resp *resp)
{
	bool detail = !strcmp(req->route, "/servers/detail");
	struct rs_auth auth;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rs_reply_rows(req, resp, "servers",
		      "SELECT " SERVER_COLUMNS " FROM instances"
		      " WHERE project_id = ? AND deleted = 0"
		      " ORDER BY created_at, id LIMIT 1000",
		      auth.project_id, server_row, &detail);
}

static void delete_server(struct rs_req *req, struct rs_resp *resp)
{
	struct refstack *rs = req->rs;
	struct rs_auth auth;
	char now[40], *cause = NULL;
	json_t *args;
	int rc;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rs_iso_time(now, sizeof(now), 0);
	{
		const char *p[] = { now, req->params[0], auth.project_id };

		rc = rs_db_exec_texts(rs,
				      "UPDATE instances SET deleted = 1,"
				      " status = 'DELETED', updated_at = ?1"
				      " WHERE id = ?2 AND project_id = ?3"
				      " AND deleted = 0",
				      p, ARRAY_SIZE(p), &cause);
	}
	if (rc <= 0) {
		if (rc < 0)
			rs_reply_error(resp, 500, "%s", cause);
		else
			rs_reply_error(resp, 404,
				       "instance %s could not be found",
				       req->params[0]);
		free(cause);
		return;
	}
	args = json_pack("{s:s}", "instance_id", req->params[0]);
	if (rpc_cast(rs, rs->peer[RS_PEER_COMPUTE], "compute",
		     "terminate_instance", args, auth.token, &cause) < 0)
		fprintf(stderr, "harness-refstack: api: terminate %s: %s\n",
			req->params[0], cause);
	json_decref(args);
	free(cause);
	resp->status = 204;
}

static json_t *flavor_row(struct rs_stmt *s, void *arg)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:I}", "id", rs_db_text(s, 0),
			 "name", rs_db_text(s, 1), "ram",
			 (json_int_t)rs_db_int(s, 2), "vcpus",
			 (json_int_t)rs_db_int(s, 3), "disk",
			 (json_int_t)rs_db_int(s, 4));
}

static void list_flavors(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rs_reply_rows(req, resp, "flavors",
		      "SELECT id, name, ram_mb, vcpus, disk_gb FROM flavors"
		      " ORDER BY id",
		      NULL, flavor_row, NULL);
}

/* RPC from compute: the build finished (ACTIVE) or failed (ERROR). */
static int instance_update(struct refstack *rs, const struct rpc_msg *msg,
			   json_t **result, char **cause)
{
	const char *id = json_string_value(
		json_object_get(msg->args, "instance_id"));
	const char *status = json_string_value(
		json_object_get(msg->args, "status"));
	int rc;

	if (!id || !status ||
	    (strcmp(status, "ACTIVE") && strcmp(status, "ERROR"))) {
		*cause = xstrdup("instance_update: want instance_id and status "
				 "ACTIVE or ERROR");
		return -1;
	}
	rc = set_status(rs, id, status, NULL,
			json_string_value(json_object_get(msg->args,
							  "ip_address")),
			json_string_value(json_object_get(msg->args, "fault")),
			cause);
	if (rc < 0)
		return -1;
	*result = json_pack("{s:b}", "updated", rc > 0);
	return 0;
}

static const struct rs_route api_routes[] = {
	{ "POST", "/servers", create_server },
	{ "GET", "/servers", list_servers },
	{ "GET", "/servers/detail", list_servers },
	{ "GET", "/servers/{id}", show_server },
	{ "DELETE", "/servers/{id}", delete_server },
	{ "GET", "/flavors", list_flavors },
	{ NULL, NULL, NULL },
};

static const struct rs_rpc_method api_rpc[] = {
	{ "instance_update", instance_update },
	{ NULL, NULL },
};

const struct rs_service rs_api_service = {
	.name = "api",
	.schema = api_schema,
	.routes = api_routes,
	.rpc = api_rpc,
};
