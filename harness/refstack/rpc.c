/* rpc.c: RPC between the services, shaped like oslo.messaging: a JSON
 * message with the method, its arguments and a context that carries the
 * trace and the caller's token, sent as POST /rpc. A call waits for the
 * result; a cast is queued by the callee and run by its worker thread. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#define RPC_SYSTEM "refstack"

struct rs_cast {
	struct rs_cast *next;
	struct rpc_msg msg;
};

void rpc_msg_release(struct rpc_msg *msg)
{
	free(msg->method);
	json_decref(msg->args);
	free(msg->traceparent);
	free(msg->auth_token);
	memset(msg, 0, sizeof(*msg));
}

char *rpc_encode(const char *method, const json_t *args,
		 const char *traceparent, const char *auth_token, bool reply)
{
	json_t *ctx = json_object(), *root;
	char *text;

	if (traceparent)
		json_object_set_new(ctx, "traceparent",
				    json_string(traceparent));
	if (auth_token)
		json_object_set_new(ctx, "auth_token", json_string(auth_token));
	/* Arguments are shared, never changed: a cast to drop const. */
	root = json_pack("{s:s,s:o,s:o,s:b}", "method", method, "args",
			 args ? json_incref((json_t *)args) : json_object(),
			 "context", ctx, "reply", reply);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return text;
}

static char *opt_string(json_t *obj, const char *key, int *bad)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return xstrdup(json_string_value(v));
}

int rpc_decode(const char *text, size_t len, struct rpc_msg *out,
	       char **cause)
{
	json_error_t err;
	json_t *root, *method, *args, *ctx, *reply;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		*cause = xasprintf("malformed RPC message: %s", err.text);
		return -1;
	}
	method = json_object_get(root, "method");
	args = json_object_get(root, "args");
	ctx = json_object_get(root, "context");
	reply = json_object_get(root, "reply");
	if (!json_is_object(root) || !json_is_string(method) ||
	    !*json_string_value(method)) {
		*cause = xstrdup("malformed RPC message: no method");
		goto fail;
	}
	if (args && !json_is_object(args)) {
		*cause = xstrdup("malformed RPC message: args is not an "
				 "object");
		goto fail;
	}
	if (ctx && !json_is_object(ctx)) {
		*cause = xstrdup("malformed RPC message: context is not an "
				 "object");
		goto fail;
	}
	if (reply && !json_is_boolean(reply)) {
		*cause = xstrdup("malformed RPC message: reply is not a "
				 "boolean");
		goto fail;
	}
	out->method = xstrdup(json_string_value(method));
	out->args = args ? json_incref(args) : json_object();
	out->traceparent = opt_string(ctx, "traceparent", &bad);
	out->auth_token = opt_string(ctx, "auth_token", &bad);
	out->reply = json_is_true(reply);
	if (bad) {
		*cause = xstrdup("malformed RPC message: bad context");
		rpc_msg_release(out);
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

/* Send one message; for a call, decode the reply into *result. */
static int rpc_send(struct refstack *rs, const char *base, const char *service,
		    const char *method, const json_t *args, const char *token,
		    bool reply, json_t **result, char **cause)
{
	struct rs_http_result res;
	struct htrace_context ctx;
	struct htrace_span *span;
	char name[128], tp[HTRACE_TRACEPARENT_SIZE];
	char *text = NULL, *url = NULL;
	json_t *root = NULL, *failure;
	int ret = -1;

	rs_http_result_init(&res);
	snprintf(name, sizeof(name), "%s.%s", service, method);
	span = htrace_rpc_begin(reply ? HTRACE_KIND_RPC_CALL :
					HTRACE_KIND_RPC_CAST,
				RPC_SYSTEM, name);
	htrace_attr_str(span, HTRACE_ATTR_RPC_SERVICE, service);
	htrace_attr_str(span, HTRACE_ATTR_MESSAGING_DESTINATION_NAME, service);
	/* Spends nothing: the callee's rpc.dispatch of the name does. */
	rs_knob_spend(rs, span,
		      reply ? HTRACE_KIND_RPC_CALL : HTRACE_KIND_RPC_CAST, name);
	if (!base || !*base) {
		*cause = xasprintf("no URL configured for service '%s'",
				   service);
		goto out;
	}
	text = rpc_encode(method, args,
			  htrace_current(&ctx) == 0 &&
					  htrace_context_format(&ctx, tp) == 0 ?
				  tp :
				  NULL,
			  token, reply);
	url = xasprintf("%s/rpc", base);
	if (rs_http_plain("POST", url, text, &res, cause) < 0)
		goto out;
	if (!reply) {
		if (res.status != 202) {
			*cause = xasprintf("cast %s: status %ld", name,
					   res.status);
			goto out;
		}
		ret = 0;
		goto out;
	}
	root = json_loadb(res.body.buf, res.body.len, 0, NULL);
	failure = json_object_get(root, "failure");
	if (failure) {
		*cause = xasprintf("%s: %s", name,
				   json_string_value(json_object_get(
					   failure, "message")) ?: "failed");
		goto out;
	}
	if (res.status != 200 || !json_object_get(root, "result")) {
		*cause = xasprintf("call %s: status %ld", name, res.status);
		goto out;
	}
	*result = json_incref(json_object_get(root, "result"));
	ret = 0;
out:
	if (ret < 0)
		htrace_set_error(span, *cause);
	htrace_end(span);
	json_decref(root);
	free(text);
	free(url);
	rs_http_result_release(&res);
	return ret;
}

int rpc_call(struct refstack *rs, const char *base, const char *service,
	     const char *method, const json_t *args, const char *token,
	     json_t **result, char **cause)
{
	*result = NULL;
	return rpc_send(rs, base, service, method, args, token, true, result,
			cause);
}

int rpc_cast(struct refstack *rs, const char *base, const char *service,
	     const char *method, const json_t *args, const char *token,
	     char **cause)
{
	return rpc_send(rs, base, service, method, args, token, false, NULL,
			cause);
}

static const struct rs_rpc_method *find_method(struct refstack *rs,
					       const char *name)
{
	for (const struct rs_rpc_method *m = rs->svc->rpc; m && m->name; m++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

/* Run one message under an rpc.dispatch span in the sender's trace. */
static int rpc_dispatch(struct refstack *rs, const struct rs_rpc_method *m,
			const struct rpc_msg *msg, json_t **result,
			char **cause)
{
	struct htrace_context ctx;
	struct htrace_span *span;
	char name[128];
	bool attached = false;
	int ret;

	/* The message bus is trusted, as oslo.messaging's is. */
	if (msg->traceparent &&
	    htrace_context_parse(msg->traceparent, &ctx) == HTRACE_EXTRACT_OK)
		attached = htrace_attach(&ctx) == 0;
	snprintf(name, sizeof(name), "%s.%s", rs->svc->name, m->name);
	span = htrace_rpc_begin(HTRACE_KIND_RPC_DISPATCH, RPC_SYSTEM, name);
	htrace_attr_str(span, HTRACE_ATTR_RPC_SERVICE, rs->svc->name);
	rs_knob_spend(rs, span, HTRACE_KIND_RPC_DISPATCH, name);
	ret = m->handle(rs, msg, result, cause);
	if (ret < 0)
		htrace_set_error(span, *cause);
	htrace_end(span);
	if (attached)
		htrace_detach();
	return ret;
}

void rs_rpc_serve(struct rs_req *req, struct rs_resp *resp)
{
	struct refstack *rs = req->rs;
	const struct rs_rpc_method *m;
	struct rpc_msg msg;
	json_t *result = NULL;
	char *cause = NULL;

	if (rpc_decode(req->body.buf, req->body.len, &msg, &cause) < 0) {
		rs_reply_error(resp, 400, "%s", cause);
		free(cause);
		return;
	}
	m = find_method(rs, msg.method);
	if (!m) {
		rs_reply_json(resp, 404,
			      json_pack("{s:{s:s,s:s}}", "failure", "type",
					"NoSuchMethod", "message",
					"no such RPC method"));
		rpc_msg_release(&msg);
		return;
	}
	if (!msg.reply) {
		struct rs_cast *c = xcalloc(1, sizeof(*c));
		struct rs_cast_queue *q = &rs->casts;

		c->msg = msg;
		pthread_mutex_lock(&q->lock);
		if (q->tail)
			q->tail->next = c;
		else
			q->head = c;
		q->tail = c;
		q->len++;
		pthread_cond_signal(&q->cond);
		pthread_mutex_unlock(&q->lock);
		rs_reply_json(resp, 202, json_object());
		return;
	}
	if (rpc_dispatch(rs, m, &msg, &result, &cause) < 0) {
		rs_reply_json(resp, 200,
			      json_pack("{s:{s:s,s:s}}", "failure", "type",
					"RemoteError", "message",
					cause ? cause : "failed"));
		free(cause);
	} else {
		rs_reply_json(resp, 200,
			      json_pack("{s:o}", "result",
					result ? result : json_null()));
	}
	rpc_msg_release(&msg);
}

static void *cast_worker(void *arg)
{
	struct refstack *rs = arg;
	struct rs_cast_queue *q = &rs->casts;

	for (;;) {
		struct rs_cast *c;
		json_t *result = NULL;
		char *cause = NULL;
		const struct rs_rpc_method *m;

		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->cond, &q->lock);
		c = q->head;
		if (c) {
			q->head = c->next;
			if (!q->head)
				q->tail = NULL;
			q->len--;
		}
		pthread_mutex_unlock(&q->lock);
		if (!c)
			break; /* stopping and drained */
		m = find_method(rs, c->msg.method);
		if (rpc_dispatch(rs, m, &c->msg, &result, &cause) < 0) {
			fprintf(stderr, "harness-refstack: %s: cast %s: %s\n",
				rs->svc->name, c->msg.method, cause);
			free(cause);
		}
		json_decref(result);
		rpc_msg_release(&c->msg);
		free(c);
	}
	return NULL;
}

int rs_cast_queue_start(struct refstack *rs)
{
	struct rs_cast_queue *q = &rs->casts;

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	if (pthread_create(&q->worker, NULL, cast_worker, rs))
		return error("cannot start the cast worker");
	q->started = true;
	return 0;
}

void rs_cast_queue_stop(struct refstack *rs)
{
	struct rs_cast_queue *q = &rs->casts;

	if (!q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->worker, NULL);
	q->started = false;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}
