/* health.c: one health request to a service with libcurl: GET the health
 * path and expect 200, with a short reason when it is not. */
#include "stack/stack-int.h"
#include "config/config.h"
#include "util/error.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static size_t discard(char *data, size_t size, size_t n, void *payload)
{
	(void)data;
	(void)payload;
	return size * n;
}

int health_get(const struct stack *st, const char *base, const char *path,
	       uint64_t timeout_ns, char **why)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long ms = (long)(timeout_ns / 1000000u), code = 0;
	char *url = xasprintf("%s%s", base, path ? path : "");
	CURLcode rc;
	CURL *curl;
	int ret = STACK_ERROR;

	if (ms < 50)
		ms = 50;
	curl = curl_easy_init();
	if (!curl) {
		*why = xstrdup("cannot create a libcurl handle");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
	/* A proxy from the environment must not see loopback checks. */
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	/* The load driver's settings, so that what passes here passes
	 * there. */
	if (st->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, st->ca_file);
	if (st->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		*why = xasprintf("GET %s failed: %s%s", url,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc),
				 rc == CURLE_PEER_FAILED_VERIFICATION
					 ? CONFIG_TLS_HINT
					 : "");
		if (rc == CURLE_PEER_FAILED_VERIFICATION)
			ret = HEALTH_UNTRUSTED;
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		*why = xasprintf("GET %s returned %ld", url, code);
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(curl);
	free(url);
	return ret;
}
