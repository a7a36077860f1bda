/* svc-identity.c: the identity service, shaped like Keystone v3: password
 * authentication issues a token kept in the database; any service checks
 * a token with GET /v3/auth/tokens. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_LIFETIME 3600

static const char identity_schema[] =
	"CREATE TABLE projects (id TEXT PRIMARY KEY,"
	" name TEXT UNIQUE NOT NULL);"
	"CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
	" password_hash TEXT NOT NULL, domain_id TEXT NOT NULL,"
	" project_id TEXT NOT NULL REFERENCES projects(id));"
	"CREATE TABLE tokens (id TEXT PRIMARY KEY,"
	" user_id TEXT NOT NULL REFERENCES users(id), project_id TEXT,"
	" issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
	"CREATE INDEX tokens_expiry ON tokens(expires_at);";

static const struct {
	const char *id, *name, *password, *project_id, *project_name;
} seed_users[] = {
	{ "5f2a1a3c0c8b4a7e9d5e6f7a8b9c0d1e", "admin", "secret",
	  "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "admin" },
	{ "6e3b2b4d1d9c4b8f8e6f7a8b9c0d1e2f", "demo", "demo",
	  "1b2c3d4e5f60418293a4b5c6d7e8f90a", "demo" },
};

/* sha256 hex of "name:password": no plain passwords in the database. */
static void password_hash(const char *name, const char *password,
			  char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *s = xasprintf("%s:%s", name, password);

	SHA256((const unsigned char *)s, strlen(s), md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	free(s);
}

static int identity_seed(struct refstack *rs, char **cause)
{
	for (size_t i = 0; i < ARRAY_SIZE(seed_users); i++) {
		struct rs_stmt s;
		char hash[65];
		int rc;

		if (rs_db_prepare(rs, &s,
				  "INSERT INTO projects (id, name)"
				  " VALUES (?, ?)",
				  cause) < 0)
			return -1;
		rs_db_bind_text(&s, 1, seed_users[i].project_id);
		rs_db_bind_text(&s, 2, seed_users[i].project_name);
		rc = rs_db_step(rs, &s, cause);
		rs_db_finish(&s);
		if (rc < 0)
			return -1;
		password_hash(seed_users[i].name, seed_users[i].password, hash);
		if (rs_db_prepare(rs, &s,
				  "INSERT INTO users (id, name, password_hash,"
				  " domain_id, project_id)"
				  " VALUES (?, ?, ?, 'default', ?)",
				  cause) < 0)
			return -1;
		rs_db_bind_text(&s, 1, seed_users[i].id);
		rs_db_bind_text(&s, 2, seed_users[i].name);
		rs_db_bind_text(&s, 3, hash);
		rs_db_bind_text(&s, 4, seed_users[i].project_id);
		rc = rs_db_step(rs, &s, cause);
		rs_db_finish(&s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int rs_identity_validate(struct refstack *rs, const char *token,
			 struct rs_auth *auth)
{
	struct rs_stmt s;
	char *cause = NULL;
	int rc = -1;

	rs_db_lock(rs);
	if (rs_db_prepare(rs, &s,
			  "SELECT t.user_id, u.name, t.project_id FROM tokens t"
			  " JOIN users u ON u.id = t.user_id"
			  " WHERE t.id = ? AND t.expires_at > ?",
			  &cause) == 0) {
		rs_db_bind_text(&s, 1, token);
		rs_db_bind_int(&s, 2, (int64_t)time(NULL));
		rc = rs_db_step(rs, &s, &cause);
		if (rc > 0) {
			snprintf(auth->token, sizeof(auth->token), "%s", token);
			snprintf(auth->user_id, sizeof(auth->user_id), "%s",
				 rs_db_text(&s, 0));
			snprintf(auth->user_name, sizeof(auth->user_name),
				 "%s", rs_db_text(&s, 1));
			snprintf(auth->project_id, sizeof(auth->project_id),
				 "%s", rs_db_text(&s, 2));
		}
		rs_db_finish(&s);
	}
	rs_db_unlock(rs);
	free(cause);
	return rc > 0 ? 0 : -1;
}

static void add_endpoint(json_t *catalog, const char *type, const char *name,
			 const char *url)
{
	if (!url)
		return;
	json_array_append_new(
		catalog,
		json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "type", type, "name",
			  name, "endpoints", "interface", "public", "region",
			  "RegionOne", "url", url));
}

static json_t *token_body(struct refstack *rs, const struct rs_auth *a,
			  const char *project_name, time_t issued)
{
	char expires[40], iss[40];
	json_t *catalog = json_array();

	rs_iso_time(expires, sizeof(expires),
		    (int64_t)(issued - time(NULL)) + TOKEN_LIFETIME);
	rs_iso_time(iss, sizeof(iss), (int64_t)(issued - time(NULL)));
	add_endpoint(catalog, "compute", "nova", rs->peer[RS_PEER_API]);
	add_endpoint(catalog, "image", "glance", rs->peer[RS_PEER_IMAGE]);
	add_endpoint(catalog, "network", "neutron", rs->peer[RS_PEER_NETWORK]);
	return json_pack("{s:{s:[s],s:{s:s,s:s,s:{s:s,s:s}},"
			 "s:{s:s,s:s,s:{s:s,s:s}},s:s,s:s,s:o}}",
			 "token", "methods", "password", "user", "id",
			 a->user_id, "name", a->user_name, "domain", "id",
			 "default", "name", "Default", "project", "id",
			 a->project_id, "name", project_name, "domain", "id",
			 "default", "name", "Default", "expires_at", expires,
			 "issued_at", iss, "catalog", catalog);
}

/* The project name of a project id, into buf. */
static void project_name(struct refstack *rs, const char *id, char *buf,
			 size_t size)
{
	struct rs_stmt s;
	char *cause = NULL;

	snprintf(buf, size, "%s", "");
	rs_db_lock(rs);
	if (rs_db_prepare(rs, &s, "SELECT name FROM projects WHERE id = ?",
			  &cause) == 0) {
		rs_db_bind_text(&s, 1, id);
		if (rs_db_step(rs, &s, &cause) > 0)
			snprintf(buf, size, "%s", rs_db_text(&s, 0));
		rs_db_finish(&s);
	}
	rs_db_unlock(rs);
	free(cause);
}

static void issue_token(struct rs_req *req, struct rs_resp *resp)
{
	struct refstack *rs = req->rs;
	json_t *root = rs_req_json(req, resp), *ident, *methods, *user, *scope;
	const char *name, *password, *domain, *scope_project = NULL;
	char hash[65], uuid[37], token[33], pname[64], *cause = NULL;
	struct rs_auth auth;
	struct rs_stmt s;
	time_t now = time(NULL);
	bool has_password = false;
	int rc;

	if (!root)
		return;
	ident = json_object_get(json_object_get(root, "auth"), "identity");
	methods = json_object_get(ident, "methods");
	for (size_t i = 0; i < json_array_size(methods); i++)
		if (json_is_string(json_array_get(methods, i)) &&
		    !strcmp(json_string_value(json_array_get(methods, i)),
			    "password"))
			has_password = true;
	user = json_object_get(json_object_get(ident, "password"), "user");
	name = json_string_value(json_object_get(user, "name"));
	password = json_string_value(json_object_get(user, "password"));
	domain = json_string_value(
		json_object_get(json_object_get(user, "domain"), "id"));
	if (!domain)
		domain = json_string_value(json_object_get(
			json_object_get(user, "domain"), "name"));
	if (!has_password || !name || !password) {
		rs_reply_error(resp, 400,
			       "expecting auth.identity with the password "
			       "method and user name and password");
		goto out;
	}
	if (domain && strcmp(domain, "default") && strcmp(domain, "Default")) {
		rs_reply_error(resp, 401, "the request you have made requires "
					  "authentication");
		goto out;
	}
	scope = json_object_get(json_object_get(root, "auth"), "scope");
	if (scope && json_object_get(scope, "project"))
		scope_project = json_string_value(json_object_get(
			json_object_get(scope, "project"), "name"));

	password_hash(name, password, hash);
	memset(&auth, 0, sizeof(auth));
	rs_db_lock(rs);
	rc = rs_db_prepare(rs, &s,
			   "SELECT u.id, u.project_id, p.name FROM users u"
			   " JOIN projects p ON p.id = u.project_id"
			   " WHERE u.name = ? AND u.password_hash = ?",
			   &cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, name);
		rs_db_bind_text(&s, 2, hash);
		rc = rs_db_step(rs, &s, &cause);
		if (rc > 0) {
			snprintf(auth.user_id, sizeof(auth.user_id), "%s",
				 rs_db_text(&s, 0));
			snprintf(auth.project_id, sizeof(auth.project_id), "%s",
				 rs_db_text(&s, 1));
			snprintf(pname, sizeof(pname), "%s", rs_db_text(&s, 2));
		}
		rs_db_finish(&s);
	}
	if (rc <= 0) {
		rs_db_unlock(rs);
		if (rc < 0)
			rs_reply_error(resp, 500, "%s", cause);
		else
			rs_reply_error(resp, 401,
				       "the request you have made requires "
				       "authentication");
		goto out;
	}
	if (scope_project && strcmp(scope_project, pname)) {
		rs_db_unlock(rs);
		rs_reply_error(resp, 401, "user '%s' has no role on project "
					  "'%s'", name, scope_project);
		goto out;
	}
	rs_uuid(rs, uuid);
	for (size_t i = 0, j = 0; uuid[i]; i++)
		if (uuid[i] != '-')
			token[j++] = uuid[i], token[j] = '\0';
	rc = rs_db_prepare(rs, &s,
			   "INSERT INTO tokens (id, user_id, project_id,"
			   " issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			   &cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, token);
		rs_db_bind_text(&s, 2, auth.user_id);
		rs_db_bind_text(&s, 3, auth.project_id);
		rs_db_bind_int(&s, 4, (int64_t)now);
		rs_db_bind_int(&s, 5, (int64_t)now + TOKEN_LIFETIME);
		rc = rs_db_step(rs, &s, &cause);
		rs_db_finish(&s);
	}
	rs_db_unlock(rs);
	if (rc < 0) {
		rs_reply_error(resp, 500, "%s", cause);
		goto out;
	}
	snprintf(auth.user_name, sizeof(auth.user_name), "%s", name);
	rs_reply_json(resp, 201, token_body(rs, &auth, pname, now));
	resp->header_name = xstrdup("X-Subject-Token");
	resp->header_value = xstrdup(token);
out:
	free(cause);
	json_decref(root);
}

static void check_token(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth caller, subject;
	const char *token = rs_req_header(req, "X-Subject-Token");
	char pname[64];

	if (rs_authenticate(req, resp, &caller) < 0)
		return;
	if (!token || rs_identity_validate(req->rs, token, &subject) < 0) {
		rs_reply_error(resp, 404, "could not find token");
		return;
	}
	project_name(req->rs, subject.project_id, pname, sizeof(pname));
	rs_reply_json(resp, 200, token_body(req->rs, &subject, pname,
					    time(NULL)));
	resp->header_name = xstrdup("X-Subject-Token");
	resp->header_value = xstrdup(token);
}

static void revoke_token(struct rs_req *req, struct rs_resp *resp)
{
	struct rs_auth caller;
	const char *token = rs_req_header(req, "X-Subject-Token");
	char *cause = NULL;
	int rc;

	if (rs_authenticate(req, resp, &caller) < 0)
		return;
	if (!token) {
		rs_reply_error(resp, 404, "could not find token");
		return;
	}
	rc = rs_db_exec_texts(req->rs, "DELETE FROM tokens WHERE id = ?",
			      &token, 1, &cause);
	if (rc < 0)
		rs_reply_error(resp, 500, "%s", cause);
	else if (rc == 0)
		rs_reply_error(resp, 404, "could not find token");
	else
		resp->status = 204;
	free(cause);
}

static const struct rs_route identity_routes[] = {
	{ "POST", "/v3/auth/tokens", issue_token },
	{ "GET", "/v3/auth/tokens", check_token },
	{ "DELETE", "/v3/auth/tokens", revoke_token },
	{ NULL, NULL, NULL },
};

const struct rs_service rs_identity_service = {
	.name = "identity",
	.schema = identity_schema,
	.seed = identity_seed,
	.routes = identity_routes,
};
