/* propagate.c: trace contexts in text: W3C traceparent, OSprofiler's
 * signed X-Trace-Info / X-Trace-HMAC pair, and TRACEPARENT for children. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "trace/internal.h"

static const char hex_digits[] = "0123456789abcdef";

static void put_hex(char *out, const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[bytes[i] >> 4];
		out[2 * i + 1] = hex_digits[bytes[i] & 15];
	}
}

static void u64_bytes(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Lowercase hex only, as W3C Trace Context requires. */
static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int get_hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return !acc;
}

int htrace_context_format(const struct htrace_context *ctx,
			  char buf[HTRACE_TRACEPARENT_SIZE])
{
	uint8_t id[8];

	if (!ctx || all_zero(ctx->trace_id, 16) || !ctx->span_id)
		return -1;
	u64_bytes(id, ctx->span_id);
	memcpy(buf, "00-", 3);
	put_hex(buf + 3, ctx->trace_id, 16);
	buf[35] = '-';
	put_hex(buf + 36, id, 8);
	buf[52] = '-';
	put_hex(buf + 53, &ctx->flags, 1);
	buf[55] = '\0';
	return 0;
}

int htrace_context_parse(const char *text, struct htrace_context *out)
{
	struct htrace_context ctx;
	uint8_t version, id[8];
	size_t len;

	if (!text || !out)
		return HTRACE_EXTRACT_MALFORMED;
	len = strlen(text);
	if (len < 55 || get_hex(text, &version, 1) < 0 || version == 0xff)
		return HTRACE_EXTRACT_MALFORMED;
	/* Version 00 is exactly 55 characters; a later version may append
	 * fields after a dash, which this version ignores. */
	if (version == 0 ? len != 55 : len > 55 && text[55] != '-')
		return HTRACE_EXTRACT_MALFORMED;
	if (text[2] != '-' || text[35] != '-' || text[52] != '-')
		return HTRACE_EXTRACT_MALFORMED;
	if (get_hex(text + 3, ctx.trace_id, 16) < 0 ||
	    get_hex(text + 36, id, 8) < 0 ||
	    get_hex(text + 53, &ctx.flags, 1) < 0)
		return HTRACE_EXTRACT_MALFORMED;
	if (all_zero(ctx.trace_id, 16) || all_zero(id, 8))
		return HTRACE_EXTRACT_MALFORMED;
	ctx.span_id = 0;
	for (int i = 0; i < 8; i++)
		ctx.span_id = ctx.span_id << 8 | id[i];
	*out = ctx;
	return HTRACE_EXTRACT_OK;
}

/* OSprofiler: X-Trace-Info is base64url (padded, as Python's
 * urlsafe_b64encode writes it) of json.dumps({"base_id": ..., "parent_id":
 * ...}); X-Trace-HMAC is the hex HMAC-SHA1 of that base64 text. */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(char *out, const unsigned char *in, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64url[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64url[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

/* Decode base64url with or without padding; -1 when malformed. */
static long b64_decode(unsigned char *out, size_t size, const char *in)
{
	size_t n = strlen(in), o = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (n && in[n - 1] == '=')
		n--;
	if (strlen(in) - n > 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits >= 6)
		return -1;
	return (long)o;
}

static void format_uuid(char out[37], const uint8_t b[16])
{
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex_digits[b[i] >> 4];
		out[o++] = hex_digits[b[i] & 15];
	}
	out[o] = '\0';
}

/* A UUID as Python's uuid.UUID() reads it: 32 hex digits, in either case,
 * with or without the four dashes. */
static int parse_uuid(const char *s, size_t len, uint8_t out[16])
{
	char digits[32];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '-' && (i == 8 || i == 13 || i == 18 || i == 23) &&
		    len == 36)
			continue;
		if (n == 32)
			return -1;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		digits[n++] = c;
	}
	if (n != 32)
		return -1;
	return get_hex(digits, out, 16);
}

static void hmac_hex(char out[41], const char *key, size_t key_len,
		     const char *data)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!HMAC(EVP_sha1(), key, (int)key_len, (const unsigned char *)data,
		  strlen(data), md, &md_len) || md_len != 20) {
		memset(out, 0, 41);
		return;
	}
	put_hex(out, md, 20);
	out[40] = '\0';
}

/* Big enough for the JSON of two UUIDs and its base64. */
#define INFO_JSON_MAX 128
#define INFO_B64_MAX 192

int htrace_inject_context(const struct htrace_context *ctx,
			  htrace_header_set_fn *set, void *payload)
{
	char tp[HTRACE_TRACEPARENT_SIZE];
	char base[37], parent[37], json[INFO_JSON_MAX], info[INFO_B64_MAX];
	char mac[41];
	uint8_t pid[16];
	int n;

	if (!set || htrace_context_format(ctx, tp) < 0)
		return 0;
	set("traceparent", tp, payload);
	if (!htrace_config_.osprofiler_headers || !htrace_config_.n_keys)
		return 1;
	/* The parent UUID's low 64 bits are the span id; its high half
	 * repeats the trace id's, so it stays unique per trace. */
	memcpy(pid, ctx->trace_id, 8);
	u64_bytes(pid + 8, ctx->span_id);
	format_uuid(base, ctx->trace_id);
	format_uuid(parent, pid);
	n = snprintf(json, sizeof(json),
		     "{\"base_id\": \"%s\", \"parent_id\": \"%s\"}", base,
		     parent);
	if (n < 0 || (size_t)n >= sizeof(json))
		return 1;
	b64_encode(info, (const unsigned char *)json, (size_t)n);
	hmac_hex(mac, htrace_config_.keys[0], htrace_config_.key_lens[0],
		 info);
	if (!mac[0])
		return 1;
	set("X-Trace-Info", info, payload);
	set("X-Trace-HMAC", mac, payload);
	return 1;
}

int htrace_inject(htrace_header_set_fn *set, void *payload)
{
	struct htrace_context ctx;

	if (!htrace_on_ || htrace_current(&ctx) < 0)
		return 0;
	return htrace_inject_context(&ctx, set, payload);
}

/* A JSON string value starting at *p (at the quote); no escapes are
 * accepted, since neither key nor UUID has any. */
static int json_string(const char **p, const char **s, size_t *len)
{
	const char *q = *p;

	if (*q != '"')
		return -1;
	q++;
	*s = q;
	while (*q && *q != '"') {
		if (*q == '\\' || (unsigned char)*q < 0x20)
			return -1;
		q++;
	}
	if (*q != '"')
		return -1;
	*len = (size_t)(q - *s);
	*p = q + 1;
	return 0;
}

static void json_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* {"base_id": "<uuid>", "parent_id": "<uuid>"}: exactly these keys, as
 * OSprofiler's middleware requires (it also rejects unknown keys). */
static int parse_info_json(const char *json, struct htrace_context *out)
{
	const char *p = json, *key, *val;
	size_t klen, vlen;
	int have_base = 0, have_parent = 0;
	uint8_t parent[16];

	json_ws(&p);
	if (*p++ != '{')
		return -1;
	for (;;) {
		json_ws(&p);
		if (json_string(&p, &key, &klen) < 0)
			return -1;
		json_ws(&p);
		if (*p++ != ':')
			return -1;
		json_ws(&p);
		if (json_string(&p, &val, &vlen) < 0)
			return -1;
		if (klen == 7 && !memcmp(key, "base_id", 7) && !have_base) {
			if (parse_uuid(val, vlen, out->trace_id) < 0)
				return -1;
			have_base = 1;
		} else if (klen == 9 && !memcmp(key, "parent_id", 9) &&
			   !have_parent) {
			if (parse_uuid(val, vlen, parent) < 0)
				return -1;
			have_parent = 1;
		} else {
			return -1;
		}
		json_ws(&p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return -1;
		break;
	}
	json_ws(&p);
	if (*p || !have_base || !have_parent)
		return -1;
	out->span_id = 0;
	for (int i = 8; i < 16; i++)
		out->span_id = out->span_id << 8 | parent[i];
	out->flags = HTRACE_FLAG_SAMPLED;
	if (all_zero(out->trace_id, 16) || !out->span_id)
		return -1;
	return 0;
}

static int count(int result)
{
	atomic_fetch_add_explicit(&htrace_counters_.extract[result], 1,
				  memory_order_relaxed);
	return result;
}

static int extract_osprofiler(const char *info, const char *mac,
			      struct htrace_context *out)
{
	char want[41], given[41];
	unsigned char json[INFO_B64_MAX];
	size_t mlen;
	long n;
	int ok = 0;

	/* Python strips the HMAC before comparing it. */
	while (*mac == ' ' || *mac == '\t')
		mac++;
	mlen = strlen(mac);
	while (mlen && (mac[mlen - 1] == ' ' || mac[mlen - 1] == '\t'))
		mlen--;
	if (mlen != 40)
		return HTRACE_EXTRACT_FORGED;
	memcpy(given, mac, 40);
	given[40] = '\0';
	for (size_t i = 0; i < htrace_config_.n_keys; i++) {
		hmac_hex(want, htrace_config_.keys[i],
			 htrace_config_.key_lens[i], info);
		ok |= want[0] && !CRYPTO_memcmp(want, given, 40);
	}
	if (!ok)
		return HTRACE_EXTRACT_FORGED;
	n = b64_decode(json, sizeof(json) - 1, info);
	if (n < 0)
		return HTRACE_EXTRACT_MALFORMED;
	json[n] = '\0';
	if (memchr(json, '\0', (size_t)n))
		return HTRACE_EXTRACT_MALFORMED;
	if (parse_info_json((const char *)json, out) < 0)
		return HTRACE_EXTRACT_MALFORMED;
	return HTRACE_EXTRACT_OK;
}

int htrace_extract(htrace_header_get_fn *get, void *payload,
		   struct htrace_context *out)
{
	struct htrace_context ctx;
	const char *info, *mac, *tp;
	int r;

	if (!get || !out)
		return HTRACE_EXTRACT_UNTRACED;
	info = get("X-Trace-Info", payload);
	mac = get("X-Trace-HMAC", payload);
	if (info && *info && mac && *mac && htrace_config_.n_keys) {
		r = extract_osprofiler(info, mac, &ctx);
		if (r == HTRACE_EXTRACT_OK)
			*out = ctx;
		return count(r);
	}
	tp = get("traceparent", payload);
	if (!tp || !htrace_config_.trust_traceparent)
		return count(HTRACE_EXTRACT_UNTRACED);
	r = htrace_context_parse(tp, &ctx);
	if (r == HTRACE_EXTRACT_OK)
		*out = ctx;
	return count(r);
}

int htrace_exec_env(char *buf, size_t size)
{
	struct htrace_context ctx;

	if (!buf || size < 12 + HTRACE_TRACEPARENT_SIZE ||
	    htrace_current(&ctx) < 0)
		return -1;
	memcpy(buf, "TRACEPARENT=", 12);
	return htrace_context_format(&ctx, buf + 12);
}
