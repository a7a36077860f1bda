/* svc-network.c: the network service, shaped like Neutron: a port takes
 * the lowest free address of the network's subnet, chosen and inserted in
 * one transaction. */
#include "refstack/refstack.h"
#include "refstack/netaddr.h"

#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBNET_ID "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

static const char network_schema[] =
	"CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE subnets (id TEXT PRIMARY KEY,"
	" network_id TEXT NOT NULL REFERENCES networks(id),"
	" cidr TEXT NOT NULL, gateway_ip TEXT NOT NULL);"
	"CREATE TABLE ports (id TEXT PRIMARY KEY, network_id TEXT NOT NULL,"
	" subnet_id TEXT NOT NULL, device_id TEXT NOT NULL,"
	" ip_address TEXT NOT NULL, mac_address TEXT NOT NULL,"
	" created_at TEXT NOT NULL, UNIQUE (subnet_id, ip_address));";

static int network_seed(struct refstack *rs, char **cause)
{
	/* A /16 so that ports leaked by killed runs never exhaust it. */
	return rs_db_exec(rs,
			  "INSERT INTO networks (id, name) VALUES ('"
			  RS_NETWORK_PRIVATE "', 'private')", cause) < 0 ||
			       rs_db_exec(rs,
					  "INSERT INTO subnets (id, network_id,"
					  " cidr, gateway_ip) VALUES ('"
					  SUBNET_ID "', '" RS_NETWORK_PRIVATE
					  "', '10.0.0.0/16', '10.0.0.1')",
					  cause) < 0 ?
		       -1 :
		       0;
}

static json_t *port_json(const char *id, const char *network_id,
			 const char *subnet_id, const char *device_id,
			 const char *ip, const char *mac)
{
	return json_pack("{s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:s,s:b}}", "port",
			 "id", id, "network_id", network_id, "device_id",
			 device_id, "status", "ACTIVE", "fixed_ips",
			 "subnet_id", subnet_id, "ip_address", ip,
			 "mac_address", mac, "admin_state_up", 1);
}

/* In the open transaction: the lowest free address of the subnet. */
static int pick_address(struct refstack *rs, const char *subnet_id,
			const char *cidr, char ip[16], char **cause)
{
	uint32_t net, first, last, addr, *used = NULL;
	size_t n = 0, alloc = 0;
	unsigned prefix;
	struct rs_stmt s;
	int rc;

	if (rs_cidr_parse(cidr, &net, &prefix) < 0) {
		*cause = xasprintf("bad cidr '%s' in subnet %s", cidr,
				   subnet_id);
		return -1;
	}
	if (rs_db_prepare(rs, &s,
			  "SELECT ip_address FROM ports WHERE subnet_id = ?",
			  cause) < 0)
		return -1;
	rs_db_bind_text(&s, 1, subnet_id);
	while ((rc = rs_db_step(rs, &s, cause)) > 0) {
		ALLOC_GROW(used, n + 1, alloc);
		if (rs_ip_parse(rs_db_text(&s, 0), &used[n]) == 0)
			n++;
	}
	rs_db_finish(&s);
	if (rc < 0) {
		free(used);
		return -1;
	}
	rs_cidr_pool(net, prefix, &first, &last);
	rc = rs_ip_lowest_free(first, last, used, n, &addr);
	free(used);
	if (rc < 0) {
		*cause = xasprintf("no more IP addresses available on subnet "
				   "%s", subnet_id);
		return 1;
	}
	rs_ip_format(addr, ip);
	return 0;
}

static void create_port(struct rs_req *req, struct rs_resp *resp)
{
	struct refstack *rs = req->rs;
	json_t *root, *port;
	const char *network_id, *device_id;
	char id[37], subnet_id[40] = "", cidr[32] = "", ip[16], mac[18];
	char *cause = NULL, created[40];
	struct rs_auth auth;
	struct rs_stmt s;
	int rc, status = 500;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	root = rs_req_json(req, resp);
	if (!root)
		return;
	port = json_object_get(root, "port");
	network_id = json_string_value(json_object_get(port, "network_id"));
	device_id = json_string_value(json_object_get(port, "device_id"));
	if (!json_is_object(port) || !network_id) {
		rs_reply_error(resp, 400, "expecting port.network_id");
		goto out;
	}
	if (!device_id)
		device_id = "";
	rs_uuid(rs, id);
	snprintf(mac, sizeof(mac), "fa:16:3e:%02x:%02x:%02x",
		 (unsigned)(rs_random(rs) * 256),
		 (unsigned)(rs_random(rs) * 256),
		 (unsigned)(rs_random(rs) * 256));
	rs_iso_time(created, sizeof(created), 0);

	rs_db_lock(rs);
	/* IMMEDIATE: take the write lock before reading the used addresses,
	 * so two allocations never pick the same one. */
	if (rs_db_exec(rs, "BEGIN IMMEDIATE", &cause) < 0) {
		rs_db_unlock(rs);
		goto fail;
	}
	rc = rs_db_prepare(rs, &s,
			   "SELECT id, cidr FROM subnets WHERE network_id = ?"
			   " ORDER BY id LIMIT 1",
			   &cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, network_id);
		rc = rs_db_step(rs, &s, &cause);
		if (rc > 0) {
			snprintf(subnet_id, sizeof(subnet_id), "%s",
				 rs_db_text(&s, 0));
			snprintf(cidr, sizeof(cidr), "%s", rs_db_text(&s, 1));
		}
		rs_db_finish(&s);
	}
	if (rc == 0) {
		status = 404;
		cause = xasprintf("network %s could not be found", network_id);
		goto rollback;
	}
	if (rc < 0)
		goto rollback;
	rc = pick_address(rs, subnet_id, cidr, ip, &cause);
	if (rc) {
		status = rc > 0 ? 409 : 500;
		goto rollback;
	}
	rc = rs_db_prepare(rs, &s,
			   "INSERT INTO ports (id, network_id, subnet_id,"
			   " device_id, ip_address, mac_address, created_at)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?)",
			   &cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, id);
		rs_db_bind_text(&s, 2, network_id);
		rs_db_bind_text(&s, 3, subnet_id);
		rs_db_bind_text(&s, 4, device_id);
		rs_db_bind_text(&s, 5, ip);
		rs_db_bind_text(&s, 6, mac);
		rs_db_bind_text(&s, 7, created);
		rc = rs_db_step(rs, &s, &cause);
		rs_db_finish(&s);
	}
	if (rc < 0 || rs_db_exec(rs, "COMMIT", &cause) < 0)
		goto rollback;
	rs_db_unlock(rs);
	rs_reply_json(resp, 201, port_json(id, network_id, subnet_id,
					   device_id, ip, mac));
	goto out;
rollback:
	{
		char *ignored = NULL;

		rs_db_exec(rs, "ROLLBACK", &ignored);
		free(ignored);
	}
	rs_db_unlock(rs);
fail:
	rs_reply_error(resp, status, "%s", cause ? cause : "failed");
out:
	free(cause);
	json_decref(root);
}

static void show_port(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;
	struct rs_stmt s;
	char *cause = NULL;
	json_t *port = NULL;
	int rc = -1;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rs_db_lock(req->rs);
	if (rs_db_prepare(req->rs, &s,
			  "SELECT id, network_id, subnet_id, device_id,"
			  " ip_address, mac_address FROM ports WHERE id = ?",
			  &cause) == 0) {
		rs_db_bind_text(&s, 1, req->params[0]);
		rc = rs_db_step(req->rs, &s, &cause);
		if (rc > 0)
			port = port_json(rs_db_text(&s, 0), rs_db_text(&s, 1),
					 rs_db_text(&s, 2), rs_db_text(&s, 3),
					 rs_db_text(&s, 4), rs_db_text(&s, 5));
		rs_db_finish(&s);
	}
	rs_db_unlock(req->rs);
	if (port)
		rs_reply_json(resp, 200, port);
	else if (rc < 0)
		rs_reply_error(resp, 500, "%s", cause);
	else
		rs_reply_error(resp, 404, "port %s could not be found",
			       req->params[0]);
	free(cause);
}

static void delete_port(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth auth;
	char *cause = NULL;
	int rc;

	if (rs_authenticate(req, resp, &auth) < 0)
		return;
	rc = rs_db_exec_texts(req->rs, "DELETE FROM ports WHERE id = ?",
			      (const char *[]){ req->params[0] }, 1, &cause);
	if (rc < 0)
		rs_reply_error(resp, 500, "%s", cause);
	else if (rc == 0)
		rs_reply_error(resp, 404, "port %s could not be found",
			       req->params[0]);
	else
		resp->status = 204;
	free(cause);
}

static const struct rs_route network_routes[] = {
	{ "POST", "/v2.0/ports", create_port },
	{ "GET", "/v2.0/ports/{id}", show_port },
	{ "DELETE", "/v2.0/ports/{id}", delete_port },
	{ NULL, NULL, NULL },
};

const struct rs_service rs_network_service = {
	.name = "network",
	.schema = network_schema,
	.seed = network_seed,
	.routes = network_routes,
};
