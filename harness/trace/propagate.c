/* propagate.c: trace contexts in text: W3C traceparent, OSprofiler's
 * signed X-Trace-Info / X-Trace-HMAC pair, and TRACEPARENT for children. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

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

/* Tables of byte values, made by the compiler: m(c, x) is the entry of
 * byte c. Ids are random digits, and branches on their class (digit or
 * letter) mispredict; lookups do not. */
#define TABLE4(m, c, x) m(c, x), m((c) + 1, x), m((c) + 2, x), m((c) + 3, x)
#define TABLE16(m, c, x)                                                    \
	TABLE4(m, c, x), TABLE4(m, (c) + 4, x), TABLE4(m, (c) + 8, x),      \
		TABLE4(m, (c) + 12, x)
#define TABLE256(m, x)                                                      \
	TABLE16(m, 0, x), TABLE16(m, 16, x), TABLE16(m, 32, x),             \
		TABLE16(m, 48, x), TABLE16(m, 64, x), TABLE16(m, 80, x),    \
		TABLE16(m, 96, x), TABLE16(m, 112, x), TABLE16(m, 128, x),  \
		TABLE16(m, 144, x), TABLE16(m, 160, x), TABLE16(m, 176, x), \
		TABLE16(m, 192, x), TABLE16(m, 208, x), TABLE16(m, 224, x), \
		TABLE16(m, 240, x)

/* A hex digit's value, -1 for other bytes; A-F only when upper. */
#define HEX_VAL(c, upper)                                                   \
	((c) >= '0' && (c) <= '9'              ? (c) - '0'                   \
	 : (c) >= 'a' && (c) <= 'f'            ? (c) - 'a' + 10              \
	 : (upper) && (c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10              \
					       : -1)

/* Lowercase hex only, as W3C Trace Context requires; UUIDs take both. */
static const signed char hex_lower[256] = { TABLE256(HEX_VAL, 0) };
static const signed char hex_any[256] = { TABLE256(HEX_VAL, 1) };

/* n bytes from the 2n hex digits at s, by vals; -1 when one is not a
 * digit (out then holds garbage). All 2n characters are read: the caller
 * has checked that they are there. */
static int hex_bytes(const signed char *vals, const char *s, uint8_t *out,
		     size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		int hi = vals[(unsigned char)s[2 * i]];
		int lo = vals[(unsigned char)s[2 * i + 1]];

		bad |= hi | lo;
		out[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
	}
	return bad < 0 ? -1 : 0;
}

static int get_hex(const char *s, uint8_t *out, size_t n)
{
	return hex_bytes(hex_lower, s, out, n);
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

/* The index of each byte in b64url, -1 for bytes not in it. */
#define B64_VAL(c, unused)                                                  \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                              \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                         \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                         \
	 : (c) == '-'               ? 62                                     \
	 : (c) == '_'               ? 63                                     \
				    : -1)
static const signed char b64_vals[256] = { TABLE256(B64_VAL, 0) };

/* Up to four characters of base64 as one number (the first in the high
 * bits of 24), -1 when one is not base64. */
static long b64_quad(const char *in, size_t n)
{
	int v[4] = { 0, 0, 0, 0 };

	for (size_t i = 0; i < n; i++)
		v[i] = b64_vals[(unsigned char)in[i]];
	if ((v[0] | v[1] | v[2] | v[3]) < 0)
		return -1;
	return (long)v[0] << 18 | (long)v[1] << 12 | (long)v[2] << 6 | v[3];
}

/* Decode base64url with or without padding; -1 when malformed. Four
 * characters at a time, since this runs on every signed request. */
static long b64_decode(unsigned char *out, size_t size, const char *in)
{
	size_t len = strlen(in), n = len, o = 0, i;
	long v;

	while (n && in[n - 1] == '=')
		n--;
	/* One character left over holds no whole byte. */
	if (len - n > 2 || n % 4 == 1)
		return -1;
	if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > size)
		return -1;
	for (i = 0; i + 4 <= n; i += 4) {
		if ((v = b64_quad(in + i, 4)) < 0)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	if (i < n) {
		if ((v = b64_quad(in + i, n - i)) < 0)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (n - i == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
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
	if (len == 32)
		return hex_bytes(hex_any, s, out, 16);
	if (len != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' ||
	    s[23] != '-')
		return -1;
	return hex_bytes(hex_any, s, out, 4) |
	       hex_bytes(hex_any, s + 9, out + 4, 2) |
	       hex_bytes(hex_any, s + 14, out + 6, 2) |
	       hex_bytes(hex_any, s + 19, out + 8, 2) |
	       hex_bytes(hex_any, s + 24, out + 10, 6);
}

/* The hex HMAC-SHA1 of data under key, by the one-shot HMAC(), which
 * fetches SHA-1 and allocates on every call: the way when no keyed context
 * is at hand. All zero when it fails. */
static void hmac_hex_oneshot(char out[41], const char *key, size_t key_len,
			     const char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!HMAC(EVP_sha1(), key, (int)key_len, (const unsigned char *)data,
		  len, md, &md_len) ||
	    md_len != 20) {
		memset(out, 0, 41);
		return;
	}
	put_hex(out, md, 20);
	out[40] = '\0';
}

/* Keyed HMAC contexts, so that a message costs an EVP_MAC_init without a
 * key (which restarts from the keyed state) and the hashing, not a fetch,
 * a key schedule and allocations. They live in a few cells, each with one
 * context per configured key, made at its first use. A thread owns a cell
 * while it signs or verifies (a flag set by test-and-set), trying its home
 * cell first and then the others; when all are taken it uses the one-shot
 * HMAC(). Nothing waits and no lock is held, so a fork cannot find one
 * held: in the child a cell that another thread had taken at the fork
 * stays taken, and unused, which costs nothing but that cell. Cells live
 * in this array and are never freed while taken, so nothing leaks however
 * threads end.
 *
 * Keys change only when htrace_config_ is released (at htrace_shutdown,
 * and before an init): htrace_hmac_reset_() then starts a new generation
 * and frees the contexts of the cells not taken; a taken cell is cleared
 * by whoever takes it next, since its generation is then an old one. */
#define HMAC_CELLS 16

struct hmac_cell {
	_Alignas(64) atomic_flag taken;
	unsigned gen;
	/* Keys whose context could not be made in this generation: they
	 * go one-shot without trying again. */
	unsigned failed;
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx[HTRACE_MAX_KEYS];
};

static struct hmac_cell hmac_cells[HMAC_CELLS] = {
	[0 ... HMAC_CELLS - 1] = { .taken = ATOMIC_FLAG_INIT },
};
static atomic_uint hmac_gen;
static atomic_uint hmac_homes;
/* The thread's first cell to try, plus one; 0 until it has one. */
static __thread unsigned tls_hmac_home
	__attribute__((tls_model("initial-exec")));

static void hmac_cell_clear(struct hmac_cell *c)
{
	for (size_t i = 0; i < HTRACE_MAX_KEYS; i++) {
		EVP_MAC_CTX_free(c->ctx[i]);
		c->ctx[i] = NULL;
	}
	EVP_MAC_free(c->mac);
	c->mac = NULL;
	c->failed = 0;
}

/* A cell of the current generation, the caller's until hmac_put(); NULL
 * when all are taken. */
static struct hmac_cell *hmac_take(void)
{
	unsigned gen = atomic_load_explicit(&hmac_gen, memory_order_acquire);
	unsigned home = tls_hmac_home;

	if (!home) {
		unsigned n = atomic_fetch_add_explicit(&hmac_homes, 1,
						       memory_order_relaxed);

		home = tls_hmac_home = n % HMAC_CELLS + 1;
	}
	for (unsigned i = 0; i < HMAC_CELLS; i++) {
		struct hmac_cell *c = &hmac_cells[(home - 1 + i) % HMAC_CELLS];

		if (atomic_flag_test_and_set_explicit(&c->taken,
						      memory_order_acquire))
			continue;
		if (c->gen != gen) {
			hmac_cell_clear(c);
			c->gen = gen;
		}
		return c;
	}
	return NULL;
}

static void hmac_put(struct hmac_cell *c)
{
	if (c)
		atomic_flag_clear_explicit(&c->taken, memory_order_release);
}

/* The cell's context for key i, keyed at its first use; NULL when OpenSSL
 * cannot make one. */
static EVP_MAC_CTX *hmac_keyed(struct hmac_cell *c, size_t i)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;

	if (c->ctx[i] || c->failed & (1u << i))
		return c->ctx[i];
	c->failed |= 1u << i;
	if (!c->mac && !(c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_MAC_CTX_new(c->mac);
	if (!ctx || !EVP_MAC_init(ctx,
				  (const unsigned char *)htrace_config_.keys[i],
				  htrace_config_.key_lens[i], params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	c->failed &= ~(1u << i);
	return c->ctx[i] = ctx;
}

/* The hex HMAC-SHA1 of data under configured key i: with the cell's keyed
 * context when there is one that works, else one-shot. All zero when both
 * fail. */
static void hmac_hex(char out[41], struct hmac_cell *c, size_t i,
		     const char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx = c ? hmac_keyed(c, i) : NULL;
	size_t md_len = 0;

	if (ctx && EVP_MAC_init(ctx, NULL, 0, NULL) &&
	    EVP_MAC_update(ctx, (const unsigned char *)data, len) &&
	    EVP_MAC_final(ctx, md, &md_len, sizeof(md)) && md_len == 20) {
		put_hex(out, md, 20);
		out[40] = '\0';
		return;
	}
	if (ctx) {
		/* Not to be trusted again: made afresh at the next use. */
		EVP_MAC_CTX_free(ctx);
		c->ctx[i] = NULL;
	}
	hmac_hex_oneshot(out, htrace_config_.keys[i],
			 htrace_config_.key_lens[i], data, len);
}

void htrace_hmac_reset_(void)
{
	atomic_fetch_add_explicit(&hmac_gen, 1, memory_order_release);
	for (size_t i = 0; i < HMAC_CELLS; i++) {
		struct hmac_cell *c = &hmac_cells[i];

		if (atomic_flag_test_and_set_explicit(&c->taken,
						      memory_order_acquire))
			continue;
		hmac_cell_clear(c);
		atomic_flag_clear_explicit(&c->taken, memory_order_release);
	}
}

/* Big enough for the JSON of two UUIDs and its base64. */
#define INFO_JSON_MAX 128
#define INFO_B64_MAX 192

/* Appends s at json + *n; what inject appends fits in INFO_JSON_MAX. */
static void append(char *json, size_t *n, const char *s)
{
	size_t len = strlen(s);

	memcpy(json + *n, s, len);
	*n += len;
}

int htrace_inject_context(const struct htrace_context *ctx,
			  htrace_header_set_fn *set, void *payload)
{
	char tp[HTRACE_TRACEPARENT_SIZE];
	char base[37], parent[37], json[INFO_JSON_MAX], info[INFO_B64_MAX];
	char mac[41];
	struct hmac_cell *cell;
	uint8_t pid[16];
	size_t n, len;

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
	/* As Python's json.dumps writes it. */
	n = 0;
	append(json, &n, "{\"base_id\": \"");
	append(json, &n, base);
	append(json, &n, "\", \"parent_id\": \"");
	append(json, &n, parent);
	append(json, &n, "\"}");
	len = b64_encode(info, (const unsigned char *)json, n);
	cell = hmac_take();
	hmac_hex(mac, cell, 0, info, len);
	hmac_put(cell);
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
	struct hmac_cell *cell;
	size_t mlen, ilen;
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
	ilen = strlen(info);
	cell = hmac_take();
	for (size_t i = 0; i < htrace_config_.n_keys; i++) {
		hmac_hex(want, cell, i, info, ilen);
		ok |= want[0] && !CRYPTO_memcmp(want, given, 40);
	}
	hmac_put(cell);
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
