/* osprofiler-client.c: a libhtrace program for the OSprofiler end-to-end
 * test: a root span, a rest.call child whose context goes out in signed
 * X-Trace-Info/X-Trace-HMAC headers (key SECRET_KEY), one GET with
 * libcurl. Prints "trace=HEX root=HEX call=HEX status=N".
 * Usage: osprofiler-client SPOOL_DIR URL */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "htrace.h"

static void set_header(const char *name, const char *value, void *payload)
{
	struct curl_slist **h = payload;
	char line[1024];

	snprintf(line, sizeof(line), "%s: %s", name, value);
	*h = curl_slist_append(*h, line);
}

static size_t discard(char *p, size_t size, size_t n, void *payload)
{
	return size * n;
}

int main(int argc, char **argv)
{
	struct htrace_options opts;
	struct htrace_context root_ctx, call_ctx;
	struct htrace_span *root, *call;
	struct curl_slist *h = NULL;
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE];
	long status = 0;
	CURL *curl;
	int ok;

	if (argc != 3) {
		fprintf(stderr, "usage: osprofiler-client SPOOL_DIR URL\n");
		return 2;
	}
	htrace_options_init(&opts);
	opts.service = "osprofiler-client";
	opts.spool_dir = argv[1];
	opts.hmac_keys = "SECRET_KEY";
	opts.osprofiler_headers = 1;
	if (htrace_init_with(&opts) != 0) {
		fprintf(stderr, "osprofiler-client: tracing did not start\n");
		return 1;
	}
	root = htrace_begin_root(HTRACE_KIND_FUNC, "client", trace_id);
	call = htrace_http_client_begin("GET", argv[2]);
	if (!root || !call || htrace_span_context(root, &root_ctx) ||
	    htrace_span_context(call, &call_ctx) ||
	    htrace_inject(set_header, &h) != 1) {
		fprintf(stderr, "osprofiler-client: no trace context\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, argv[2]);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	ok = curl_easy_perform(curl) == CURLE_OK;
	if (ok)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	htrace_http_end(call, ok ? (int)status : 0);
	htrace_end(root);
	htrace_shutdown();
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	printf("trace=");
	for (int i = 0; i < HTRACE_TRACE_ID_SIZE; i++)
		printf("%02x", trace_id[i]);
	printf(" root=%016" PRIx64 " call=%016" PRIx64 " status=%ld\n",
	       root_ctx.span_id, call_ctx.span_id, status);
	return status == 200 ? 0 : 1;
}
