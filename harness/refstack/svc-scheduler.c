/* svc-scheduler.c: the scheduler, shaped like nova-scheduler: RPC
 * select_destinations reads the hosts, filters them by free capacity,
 * weighs them by free RAM and claims the best in a transaction. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NHOSTS 8

static const char scheduler_schema[] =
	"CREATE TABLE hosts (name TEXT PRIMARY KEY, ram_mb INTEGER NOT NULL,"
	" vcpus INTEGER NOT NULL, ram_used INTEGER NOT NULL DEFAULT 0,"
	" vcpus_used INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE claims (instance_id TEXT PRIMARY KEY,"
	" host TEXT NOT NULL REFERENCES hosts(name),"
	" ram_mb INTEGER NOT NULL, vcpus INTEGER NOT NULL);";

struct host {
	char name[32];
	int64_t ram_mb, vcpus, ram_used, vcpus_used;
};

static int scheduler_seed(struct refstack *rs, char **cause)
{
	for (int i = 0; i < NHOSTS; i++) {
		struct rs_stmt s;
		char name[32];
		int rc;

		/* Uneven sizes, so that weighing has something to decide. */
		snprintf(name, sizeof(name), "compute-%d", i);
		if (rs_db_prepare(rs, &s,
				  "INSERT INTO hosts (name, ram_mb, vcpus)"
				  " VALUES (?, ?, ?)",
				  cause) < 0)
			return -1;
		rs_db_bind_text(&s, 1, name);
		rs_db_bind_int(&s, 2, 131072 + 16384 * i);
		rs_db_bind_int(&s, 3, 64 + 8 * i);
		rc = rs_db_step(rs, &s, cause);
		rs_db_finish(&s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void host_read(struct host *h, struct rs_stmt *s, int col)
{
	h->ram_mb = rs_db_int(s, col);
	h->vcpus = rs_db_int(s, col + 1);
	h->ram_used = rs_db_int(s, col + 2);
	h->vcpus_used = rs_db_int(s, col + 3);
}

/* All hosts in one query. */
static int hosts_load(struct refstack *rs, struct host **out, size_t *n,
		      char **cause)
{
	struct host *hosts = NULL;
	size_t alloc = 0;
	struct rs_stmt s;
	int rc;

	*n = 0;
	if (rs_db_prepare(rs, &s,
			  "SELECT name, ram_mb, vcpus, ram_used, vcpus_used"
			  " FROM hosts ORDER BY name",
			  cause) < 0)
		return -1;
	while ((rc = rs_db_step(rs, &s, cause)) > 0) {
		ALLOC_GROW(hosts, *n + 1, alloc);
		snprintf(hosts[*n].name, sizeof(hosts[*n].name), "%s",
			 rs_db_text(&s, 0));
		host_read(&hosts[*n], &s, 1);
		(*n)++;
	}
	rs_db_finish(&s);
	*out = hosts;
	return rc;
}

/* The N+1 pattern (the n_plus_one knob): the names, then one query per
 * host for its numbers, as an ORM's lazy loading would do. */
static int hosts_load_n_plus_one(struct refstack *rs, struct host **out,
				 size_t *n, char **cause)
{
	struct host *hosts = NULL;
	size_t alloc = 0;
	struct rs_stmt s;
	int rc;

	*n = 0;
	if (rs_db_prepare(rs, &s, "SELECT name FROM hosts ORDER BY name",
			  cause) < 0)
		return -1;
	while ((rc = rs_db_step(rs, &s, cause)) > 0) {
		ALLOC_GROW(hosts, *n + 1, alloc);
		snprintf(hosts[*n].name, sizeof(hosts[*n].name), "%s",
			 rs_db_text(&s, 0));
		(*n)++;
	}
	rs_db_finish(&s);
	*out = hosts;
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		if (rs_db_prepare(rs, &s,
				  "SELECT ram_mb, vcpus, ram_used, vcpus_used"
				  " FROM hosts WHERE name = ?",
				  cause) < 0)
			return -1;
		rs_db_bind_text(&s, 1, hosts[i].name);
		rc = rs_db_step(rs, &s, cause);
		if (rc > 0) {
			host_read(&hosts[i], &s, 0);
			rc = 0;
		}
		rs_db_finish(&s);
	}
	return rc;
}

/* Keep the hosts with room; sort by free RAM, most first. */
static size_t filter_and_weigh(struct refstack *rs, struct host *hosts,
			       size_t n, int64_t ram, int64_t vcpus)
{
	struct htrace_span *span;
	size_t kept = 0;

	span = rs_begin(rs, HTRACE_KIND_FUNC, "scheduler.filter_hosts");
	for (size_t i = 0; i < n; i++)
		if (hosts[i].ram_mb - hosts[i].ram_used >= ram &&
		    hosts[i].vcpus - hosts[i].vcpus_used >= vcpus)
			hosts[kept++] = hosts[i];
	htrace_attr_int(span, "scheduler.hosts", (int64_t)n);
	htrace_attr_int(span, "scheduler.hosts_passed", (int64_t)kept);
	htrace_end(span);

	span = rs_begin(rs, HTRACE_KIND_FUNC, "scheduler.weigh_hosts");
	for (size_t i = 1; i < kept; i++) {
		struct host h = hosts[i];
		size_t j = i;

		while (j > 0 && hosts[j - 1].ram_mb - hosts[j - 1].ram_used <
					h.ram_mb - h.ram_used) {
			hosts[j] = hosts[j - 1];
			j--;
		}
		hosts[j] = h;
	}
	htrace_end(span);
	return kept;
}

/* Run SQL, an UPDATE of hosts with ?1 RAM, ?2 VCPUS and ?3 HOST; the
 * caller holds the lock. */
static int host_update(struct refstack *rs, const char *sql, int64_t ram,
		       int64_t vcpus, const char *host, char **cause)
{
	struct rs_stmt s;
	int rc;

	rc = rs_db_prepare(rs, &s, sql, cause);
	if (rc == 0) {
		rs_db_bind_int(&s, 1, ram);
		rs_db_bind_int(&s, 2, vcpus);
		rs_db_bind_text(&s, 3, host);
		rc = rs_db_step(rs, &s, cause);
		rs_db_finish(&s);
	}
	return rc;
}

/* Claim ram and vcpus on host for the instance: 1 claimed, 0 the host
 * filled up meanwhile, -1 error. Takes the lock itself. */
static int claim(struct refstack *rs, const char *host, const char *instance,
		 int64_t ram, int64_t vcpus, char **cause)
{
	struct rs_stmt s;
	char *ignored = NULL;
	int rc, changed = 0;

	rs_db_lock(rs);
	if (rs_db_exec(rs, "BEGIN IMMEDIATE", cause) < 0) {
		rs_db_unlock(rs);
		return -1;
	}
	rc = host_update(rs,
			 "UPDATE hosts SET ram_used = ram_used + ?1,"
			 " vcpus_used = vcpus_used + ?2 WHERE name = ?3"
			 " AND ram_used + ?1 <= ram_mb"
			 " AND vcpus_used + ?2 <= vcpus",
			 ram, vcpus, host, cause);
	if (rc == 0)
		changed = sqlite3_changes(rs->db);
	if (rc == 0 && changed) {
		rc = rs_db_prepare(rs, &s,
				   "INSERT OR REPLACE INTO claims (instance_id,"
				   " host, ram_mb, vcpus) VALUES (?, ?, ?, ?)",
				   cause);
		if (rc == 0) {
			rs_db_bind_text(&s, 1, instance);
			rs_db_bind_text(&s, 2, host);
			rs_db_bind_int(&s, 3, ram);
			rs_db_bind_int(&s, 4, vcpus);
			rc = rs_db_step(rs, &s, cause);
			rs_db_finish(&s);
		}
	}
	if (rc < 0 || !changed) {
		rs_db_exec(rs, "ROLLBACK", &ignored);
		free(ignored);
	} else if (rs_db_exec(rs, "COMMIT", cause) < 0) {
		rs_db_exec(rs, "ROLLBACK", &ignored);
		free(ignored);
		rc = -1;
	}
	rs_db_unlock(rs);
	return rc < 0 ? -1 : changed > 0;
}

static int select_destinations(struct refstack *rs, const struct rpc_msg *msg,
			       json_t **result, char **cause)
{
	const char *instance = json_string_value(
		json_object_get(msg->args, "instance_id"));
	json_int_t ram = json_integer_value(json_object_get(msg->args,
							    "ram_mb"));
	json_int_t vcpus = json_integer_value(json_object_get(msg->args,
							      "vcpus"));
	struct host *hosts = NULL;
	size_t n = 0, kept;
	int rc = -1;

	if (!instance || ram <= 0 || vcpus <= 0) {
		*cause = xstrdup("select_destinations: want instance_id, "
				 "ram_mb and vcpus");
		return -1;
	}
	/* A claim can lose a race for the last room on a host: read again. */
	for (int attempt = 0; attempt < 3; attempt++) {
		free(hosts);
		hosts = NULL;
		rs_db_lock(rs);
		rc = rs->knobs.n_plus_one ?
			     hosts_load_n_plus_one(rs, &hosts, &n, cause) :
			     hosts_load(rs, &hosts, &n, cause);
		rs_db_unlock(rs);
		if (rc < 0)
			goto out;
		kept = filter_and_weigh(rs, hosts, n, ram, vcpus);
		if (!kept) {
			*cause = xstrdup("No valid host was found. There are "
					 "not enough hosts available.");
			rc = -1;
			goto out;
		}
		rc = claim(rs, hosts[0].name, instance, ram, vcpus, cause);
		if (rc < 0)
			goto out;
		if (rc > 0) {
			*result = json_pack("{s:s}", "host", hosts[0].name);
			rc = 0;
			goto out;
		}
	}
	*cause = xstrdup("No valid host was found: claims kept failing");
	rc = -1;
out:
	free(hosts);
	return rc;
}

static int release_claim(struct refstack *rs, const struct rpc_msg *msg,
			 json_t **result, char **cause)
{
	const char *instance = json_string_value(
		json_object_get(msg->args, "instance_id"));
	char host[32] = "", *ignored = NULL;
	int64_t ram = 0, vcpus = 0;
	struct rs_stmt s;
	int rc;

	if (!instance) {
		*cause = xstrdup("release_claim: want instance_id");
		return -1;
	}
	rs_db_lock(rs);
	if (rs_db_exec(rs, "BEGIN IMMEDIATE", cause) < 0) {
		rs_db_unlock(rs);
		return -1;
	}
	rc = rs_db_prepare(rs, &s,
			   "SELECT host, ram_mb, vcpus FROM claims"
			   " WHERE instance_id = ?",
			   cause);
	if (rc == 0) {
		rs_db_bind_text(&s, 1, instance);
		rc = rs_db_step(rs, &s, cause);
		if (rc > 0) {
			snprintf(host, sizeof(host), "%s", rs_db_text(&s, 0));
			ram = rs_db_int(&s, 1);
			vcpus = rs_db_int(&s, 2);
		}
		rs_db_finish(&s);
	}
	if (rc > 0) {
		rc = host_update(rs,
				 "UPDATE hosts SET ram_used = ram_used - ?,"
				 " vcpus_used = vcpus_used - ? WHERE name = ?",
				 ram, vcpus, host, cause);
		if (rc == 0)
			rc = rs_db_prepare(rs, &s,
					   "DELETE FROM claims"
					   " WHERE instance_id = ?",
					   cause);
		if (rc == 0) {
			rs_db_bind_text(&s, 1, instance);
			rc = rs_db_step(rs, &s, cause);
			rs_db_finish(&s);
		}
	}
	if (rc < 0 || rs_db_exec(rs, "COMMIT", cause) < 0) {
		rs_db_exec(rs, "ROLLBACK", &ignored);
		free(ignored);
		rs_db_unlock(rs);
		return -1;
	}
	rs_db_unlock(rs);
	*result = json_pack("{s:b}", "released", *host != '\0');
	return 0;
}

/* GET /os-hypervisors: the hosts and their use, for people and tests. */
static void list_hosts(struct rs_req *req, struct rs_resp *resp)
{
	struct host *hosts = NULL;
	json_t *list = json_array();
	char *cause = NULL;
	size_t n = 0;
	int rc;

	rs_db_lock(req->rs);
	rc = hosts_load(req->rs, &hosts, &n, &cause);
	rs_db_unlock(req->rs);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct host *h = &hosts[i];

		json_array_append_new(
			list, json_pack("{s:s,s:I,s:I,s:I,s:I}",
					"hypervisor_hostname", h->name,
					"memory_mb", (json_int_t)h->ram_mb,
					"memory_mb_used",
					(json_int_t)h->ram_used, "vcpus",
					(json_int_t)h->vcpus, "vcpus_used",
					(json_int_t)h->vcpus_used));
	}
	if (rc < 0) {
		json_decref(list);
		rs_reply_error(resp, 500, "%s", cause);
	} else {
		rs_reply_json(resp, 200,
			      json_pack("{s:o}", "hypervisors", list));
	}
	free(hosts);
	free(cause);
}

static const struct rs_route scheduler_routes[] = {
	{ "GET", "/os-hypervisors", list_hosts },
	{ NULL, NULL, NULL },
};

static const struct rs_rpc_method scheduler_rpc[] = {
	{ "select_destinations", select_destinations },
	{ "release_claim", release_claim },
	{ NULL, NULL },
};

const struct rs_service rs_scheduler_service = {
	.name = "scheduler",
	.schema = scheduler_schema,
	.seed = scheduler_seed,
	.routes = scheduler_routes,
	.rpc = scheduler_rpc,
};
