/* spool.c: encode and decode spool files (see spool.h for the layout).
 * Used inside libhtrace, so it never prints and survives allocation
 * failure: errors come back as return codes and optional *cause texts. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

/* Only an odd cause text may be lost to a failed allocation; that is fine. */
static int set_cause(char **cause, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_cause(char **cause, int code, const char *fmt, ...)
{
	va_list ap;

	if (!cause)
		return code;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) < 0)
		*cause = NULL;
	va_end(ap);
	return code;
}

/* CRC-32C: a table for any CPU, the SSE4.2 instruction where present. */

static uint32_t crc_table[256];
static int crc_hw;

__attribute__((constructor)) static void crc_setup(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_sse42(crc, p, len);
#endif
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static const char *const kind_names[] = {
	NULL, "rest.call", "rest.dispatch", "rpc.call", "rpc.cast",
	"rpc.dispatch", "db", "lib", "thread.spawn", "thread.main", "exec",
	"func", "iteration", "step",
};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *spool_kind_name(unsigned kind)
{
	return kind < N_KINDS ? kind_names[kind] : NULL;
}

int spool_kind_parse(const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 1; i < N_KINDS; i++)
		if (!strcmp(kind_names[i], name))
			return (int)i;
	return -1;
}

/* Little-endian cursor over a buffer; a write past the end sets
 * overflow and writes nothing more. */
struct cursor {
	unsigned char *p;
	size_t size;
	size_t len;
	int overflow;
};

static void put(struct cursor *c, const void *data, size_t n)
{
	if (c->overflow || n > c->size - c->len) {
		c->overflow = 1;
		return;
	}
	if (!n)
		return;
	memcpy(c->p + c->len, data, n);
	c->len += n;
}

static void put_u8(struct cursor *c, unsigned v)
{
	unsigned char b = (unsigned char)v;
	put(c, &b, 1);
}

static void put_u16(struct cursor *c, unsigned v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	put(c, b, 2);
}

static void put_u32(struct cursor *c, uint32_t v)
{
	unsigned char b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(c, b, 4);
}

static void put_u64(struct cursor *c, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(c, b, 8);
}

static void put_str16(struct cursor *c, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > 0xffff) {
		c->overflow = 1;
		return;
	}
	put_u16(c, (unsigned)n);
	put(c, s, n);
}

static size_t str16_size(const char *s)
{
	return 2 + (s ? strlen(s) : 0);
}

static uint16_t get_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void record_begin(struct cursor *c, enum spool_record_type type)
{
	put_u16(c, SPOOL_SYNC);
	put_u8(c, type);
	put_u8(c, SPOOL_VERSION);
	put_u32(c, 0); /* length, set by record_finish() */
}

static size_t record_finish(struct cursor *c)
{
	size_t payload;
	uint32_t crc;

	if (c->overflow || c->len < SPOOL_RECORD_HEADER_SIZE)
		return 0;
	payload = c->len - SPOOL_RECORD_HEADER_SIZE;
	if (payload > SPOOL_MAX_PAYLOAD)
		return 0;
	for (int i = 0; i < 4; i++)
		c->p[4 + i] = (unsigned char)(payload >> (8 * i));
	crc = spool_crc32c(0, c->p, c->len);
	put_u32(c, crc);
	return c->overflow ? 0 : c->len;
}

size_t spool_encode_header(void *buf, size_t size,
			   const struct spool_header *hdr)
{
	struct cursor c = { buf, size, 0, 0 };
	size_t total = SPOOL_MAGIC_SIZE + 4 + 4 + 8 + 4 +
		       str16_size(hdr->service) + str16_size(hdr->host) + 4;

	put(&c, SPOOL_MAGIC, SPOOL_MAGIC_SIZE);
	put_u32(&c, SPOOL_VERSION);
	put_u32(&c, (uint32_t)total);
	put_u64(&c, hdr->start_ns);
	put_u32(&c, hdr->pid);
	put_str16(&c, hdr->service);
	put_str16(&c, hdr->host);
	if (c.overflow)
		return 0;
	put_u32(&c, spool_crc32c(0, c.p, c.len));
	return c.overflow ? 0 : c.len;
}

static size_t attr_size(const struct spool_attr *a)
{
	size_t n = str16_size(a->key) + 1;

	switch (a->type) {
	case SPOOL_ATTR_STR:
		return n + 4 + (a->v.s ? strlen(a->v.s) : 0);
	case SPOOL_ATTR_INT:
	case SPOOL_ATTR_DOUBLE:
		return n + 8;
	case SPOOL_ATTR_BOOL:
		return n + 1;
	}
	return 0;
}

static void put_attr(struct cursor *c, const struct spool_attr *a)
{
	uint64_t bits;

	put_str16(c, a->key);
	put_u8(c, a->type);
	switch (a->type) {
	case SPOOL_ATTR_STR: {
		size_t n = a->v.s ? strlen(a->v.s) : 0;
		if (n > SPOOL_MAX_PAYLOAD) {
			c->overflow = 1;
			return;
		}
		put_u32(c, (uint32_t)n);
		put(c, a->v.s, n);
		break;
	}
	case SPOOL_ATTR_INT:
		put_u64(c, (uint64_t)a->v.i);
		break;
	case SPOOL_ATTR_DOUBLE:
		memcpy(&bits, &a->v.d, 8);
		put_u64(c, bits);
		break;
	case SPOOL_ATTR_BOOL:
		put_u8(c, a->v.b ? 1 : 0);
		break;
	default:
		c->overflow = 1;
	}
}

static size_t put_one_attr(void *buf, size_t size, const struct spool_attr *a)
{
	struct cursor c = { buf, size, 0, 0 };

	put_attr(&c, a);
	return c.overflow ? 0 : c.len;
}

size_t spool_attr_put_str(void *buf, size_t size, const char *key,
			  const char *value)
{
	struct spool_attr a = { .key = key, .type = SPOOL_ATTR_STR };
	a.v.s = value;
	return put_one_attr(buf, size, &a);
}

size_t spool_attr_put_int(void *buf, size_t size, const char *key,
			  int64_t value)
{
	struct spool_attr a = { .key = key, .type = SPOOL_ATTR_INT };
	a.v.i = value;
	return put_one_attr(buf, size, &a);
}

size_t spool_attr_put_double(void *buf, size_t size, const char *key,
			     double value)
{
	struct spool_attr a = { .key = key, .type = SPOOL_ATTR_DOUBLE };
	a.v.d = value;
	return put_one_attr(buf, size, &a);
}

size_t spool_attr_put_bool(void *buf, size_t size, const char *key,
			   int value)
{
	struct spool_attr a = { .key = key, .type = SPOOL_ATTR_BOOL };
	a.v.b = value;
	return put_one_attr(buf, size, &a);
}

#define SPAN_FIXED_SIZE SPOOL_SPAN_FIXED_SIZE

size_t spool_span_size(const struct spool_span *s)
{
	size_t n = SPOOL_RECORD_HEADER_SIZE + SPAN_FIXED_SIZE +
		   str16_size(s->name) + str16_size(s->message) +
		   str16_size(s->service) + str16_size(s->host) +
		   SPOOL_RECORD_TRAILER_SIZE;

	if (s->raw_attrs)
		n += s->raw_attrs_len;
	else
		for (size_t i = 0; i < s->n_attrs; i++)
			n += attr_size(&s->attrs[i]);
	for (size_t i = 0; i < s->n_frames; i++)
		n += 16 + str16_size(s->frames[i].module) +
		     str16_size(s->frames[i].symbol);
	return n;
}

size_t spool_encode_span(void *buf, size_t size, const struct spool_span *s)
{
	struct cursor c = { buf, size, 0, 0 };
	size_t n_attrs = s->raw_attrs ? s->n_raw_attrs : s->n_attrs;

	if (n_attrs > 0xffff || s->n_frames > 0xffff)
		return 0;
	record_begin(&c, SPOOL_RECORD_SPAN);
	put(&c, s->trace_id, 16);
	put_u64(&c, s->span_id);
	put_u64(&c, s->parent_id);
	put_u64(&c, s->start_ns);
	put_u64(&c, s->dur_ns);
	put_u32(&c, s->pid);
	put_u32(&c, s->tid);
	put_u8(&c, s->kind);
	put_u8(&c, s->status);
	put_u16(&c, (unsigned)n_attrs);
	put_u16(&c, (unsigned)s->n_frames);
	put_u16(&c, 0);
	put_str16(&c, s->name);
	put_str16(&c, s->message);
	put_str16(&c, s->service);
	put_str16(&c, s->host);
	if (s->raw_attrs)
		put(&c, s->raw_attrs, s->raw_attrs_len);
	else
		for (size_t i = 0; i < s->n_attrs; i++)
			put_attr(&c, &s->attrs[i]);
	for (size_t i = 0; i < s->n_frames; i++) {
		put_u64(&c, s->frames[i].pc);
		put_u64(&c, s->frames[i].offset);
		put_str16(&c, s->frames[i].module);
		put_str16(&c, s->frames[i].symbol);
	}
	return record_finish(&c);
}

int spool_seal(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t off = 0;

	while (off < len) {
		size_t n;
		uint32_t crc;

		if (len - off < SPOOL_RECORD_HEADER_SIZE +
				      SPOOL_RECORD_TRAILER_SIZE)
			return -1;
		n = SPOOL_RECORD_HEADER_SIZE + get_u32(p + off + 4);
		if (n > len - off - SPOOL_RECORD_TRAILER_SIZE)
			return -1;
		crc = spool_crc32c(0, p + off, n);
		for (int i = 0; i < 4; i++)
			p[off + n + i] = (unsigned char)(crc >> (8 * i));
		off += n + SPOOL_RECORD_TRAILER_SIZE;
	}
	return 0;
}

size_t spool_encode_dropped(void *buf, size_t size,
			    const struct spool_dropped *d)
{
	struct cursor c = { buf, size, 0, 0 };

	record_begin(&c, SPOOL_RECORD_DROPPED);
	put_u64(&c, d->count);
	put_u64(&c, d->time_ns);
	return record_finish(&c);
}

size_t spool_encode_thread(void *buf, size_t size,
			   const struct spool_thread *t)
{
	struct cursor c = { buf, size, 0, 0 };

	record_begin(&c, SPOOL_RECORD_THREAD);
	put_u32(&c, t->tid);
	put_str16(&c, t->name);
	return record_finish(&c);
}

/* Decoding: a bounds-checked reader over a payload, copying strings into
 * a scratch area so they can be NUL-terminated. */
struct dec {
	const unsigned char *p;
	size_t len;
	size_t pos;
	char *out;	/* next free byte of scratch for strings */
	int bad;
};

static const unsigned char *take(struct dec *d, size_t n)
{
	const unsigned char *r;

	if (d->bad || n > d->len - d->pos) {
		d->bad = 1;
		return NULL;
	}
	r = d->p + d->pos;
	d->pos += n;
	return r;
}

static unsigned take_u8(struct dec *d)
{
	const unsigned char *p = take(d, 1);
	return p ? p[0] : 0;
}

static unsigned take_u16(struct dec *d)
{
	const unsigned char *p = take(d, 2);
	return p ? get_u16(p) : 0;
}

static uint32_t take_u32(struct dec *d)
{
	const unsigned char *p = take(d, 4);
	return p ? get_u32(p) : 0;
}

static uint64_t take_u64(struct dec *d)
{
	const unsigned char *p = take(d, 8);
	return p ? get_u64(p) : 0;
}

static const char *take_bytes_str(struct dec *d, size_t n)
{
	const unsigned char *p = take(d, n);
	char *s;

	if (!p)
		return "";
	s = d->out;
	memcpy(s, p, n);
	s[n] = '\0';
	d->out += n + 1;
	return s;
}

static const char *take_str16(struct dec *d)
{
	return take_bytes_str(d, take_u16(d));
}

static int decode_span(struct dec *d, struct spool_span *s,
		       struct spool_attr *attrs, struct spool_frame *frames)
{
	const unsigned char *id = take(d, 16);
	size_t n_attrs, n_frames;

	memset(s, 0, sizeof(*s));
	if (!id)
		return -1;
	memcpy(s->trace_id, id, 16);
	s->span_id = take_u64(d);
	s->parent_id = take_u64(d);
	s->start_ns = take_u64(d);
	s->dur_ns = take_u64(d);
	s->pid = take_u32(d);
	s->tid = take_u32(d);
	s->kind = take_u8(d);
	s->status = take_u8(d);
	n_attrs = take_u16(d);
	n_frames = take_u16(d);
	take_u16(d);
	s->name = take_str16(d);
	s->message = take_str16(d);
	s->service = take_str16(d);
	s->host = take_str16(d);
	if (!*s->message)
		s->message = NULL;
	for (size_t i = 0; i < n_attrs && !d->bad; i++) {
		struct spool_attr *a = &attrs[i];
		uint64_t bits;

		a->key = take_str16(d);
		a->type = take_u8(d);
		switch (a->type) {
		case SPOOL_ATTR_STR: {
			uint32_t n = take_u32(d);
			a->v.s = take_bytes_str(d, n);
			break;
		}
		case SPOOL_ATTR_INT:
			a->v.i = (int64_t)take_u64(d);
			break;
		case SPOOL_ATTR_DOUBLE:
			bits = take_u64(d);
			memcpy(&a->v.d, &bits, 8);
			break;
		case SPOOL_ATTR_BOOL:
			a->v.b = take_u8(d) != 0;
			break;
		default:
			d->bad = 1;
		}
	}
	for (size_t i = 0; i < n_frames && !d->bad; i++) {
		frames[i].pc = take_u64(d);
		frames[i].offset = take_u64(d);
		frames[i].module = take_str16(d);
		frames[i].symbol = take_str16(d);
	}
	if (d->bad || d->pos != d->len)
		return -1;
	s->attrs = n_attrs ? attrs : NULL;
	s->n_attrs = n_attrs;
	s->frames = n_frames ? frames : NULL;
	s->n_frames = n_frames;
	return 0;
}

int spool_decode_record(const void *data, size_t len,
			struct spool_record *rec, char **scratch,
			size_t *scratch_size)
{
	const unsigned char *p = data;
	uint32_t payload, crc;
	size_t total, need, n_attrs = 0, n_frames = 0;
	struct dec d;

	memset(rec, 0, sizeof(*rec));
	if (len < SPOOL_RECORD_HEADER_SIZE)
		return SPOOL_READ_TORN;
	if (get_u16(p) != SPOOL_SYNC)
		return SPOOL_READ_CORRUPT;
	payload = get_u32(p + 4);
	if (payload > SPOOL_MAX_PAYLOAD)
		return SPOOL_READ_CORRUPT;
	total = SPOOL_RECORD_HEADER_SIZE + (size_t)payload +
		SPOOL_RECORD_TRAILER_SIZE;
	if (len < total)
		return SPOOL_READ_TORN;
	crc = get_u32(p + SPOOL_RECORD_HEADER_SIZE + payload);
	if (spool_crc32c(0, p, SPOOL_RECORD_HEADER_SIZE + payload) != crc)
		return SPOOL_READ_CORRUPT;
	rec->type = p[2];
	rec->version = p[3];
	rec->end = total;
	if (rec->version > SPOOL_VERSION)
		return SPOOL_READ_OK;

	if (rec->type == SPOOL_RECORD_SPAN) {
		if (payload < SPAN_FIXED_SIZE)
			return SPOOL_READ_CORRUPT;
		n_attrs = get_u16(p + SPOOL_RECORD_HEADER_SIZE + 58);
		n_frames = get_u16(p + SPOOL_RECORD_HEADER_SIZE + 60);
	}
	/* Every string gains one NUL at most per 2 bytes of payload. */
	need = (size_t)payload * 2 + 16 + n_attrs * sizeof(struct spool_attr) +
	       n_frames * sizeof(struct spool_frame);
	if (need > *scratch_size) {
		char *n = realloc(*scratch, need);
		if (!n)
			return SPOOL_READ_ERROR;
		*scratch = n;
		*scratch_size = need;
	}
	d.p = p + SPOOL_RECORD_HEADER_SIZE;
	d.len = payload;
	d.pos = 0;
	d.bad = 0;
	/* Arrays first (aligned: the scratch comes from malloc), strings
	 * after them. */
	d.out = *scratch + n_attrs * sizeof(struct spool_attr) +
		n_frames * sizeof(struct spool_frame);

	switch (rec->type) {
	case SPOOL_RECORD_SPAN:
		if (decode_span(&d, &rec->u.span, (struct spool_attr *)*scratch,
				(struct spool_frame *)(*scratch +
						       n_attrs *
						       sizeof(struct spool_attr))) < 0)
			return SPOOL_READ_CORRUPT;
		break;
	case SPOOL_RECORD_DROPPED:
		rec->u.dropped.count = take_u64(&d);
		rec->u.dropped.time_ns = take_u64(&d);
		break;
	case SPOOL_RECORD_THREAD:
		rec->u.thread.tid = take_u32(&d);
		rec->u.thread.name = take_str16(&d);
		break;
	default:
		return SPOOL_READ_OK;
	}
	if (d.bad || d.pos != d.len)
		return SPOOL_READ_CORRUPT;
	return SPOOL_READ_OK;
}

/* Writing whole files. */

struct spool_file {
	int fd;
	char *path;
};

static void sanitize_name(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < size; src++) {
		char ch = *src;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
			 ch == '.';
		dst[i++] = ok ? ch : '_';
	}
	if (!i)
		dst[i++] = '_';
	dst[i] = '\0';
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int spool_file_create(struct spool_file **out, const char *dir,
		      const char *service, char **cause)
{
	struct spool_file *f;
	struct spool_header hdr = { 0 };
	struct timespec ts;
	char name[64], host[256], buf[1024];
	uint64_t rnd = 0;
	size_t n;
	int saved;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return set_cause(cause, SPOOL_EIO, "out of memory");
	f->fd = -1;
	sanitize_name(name, sizeof(name), service);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (asprintf(&f->path, "%s/%s-%ld-%lld-%08x%s", dir, name,
		     (long)getpid(), (long long)ts.tv_sec,
		     (unsigned)(rnd & 0xffffffffu), SPOOL_SUFFIX) < 0) {
		f->path = NULL;
		spool_file_free(f);
		return set_cause(cause, SPOOL_EIO, "out of memory");
	}
	f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		     0644);
	if (f->fd < 0) {
		saved = errno;
		set_cause(cause, SPOOL_EIO, "cannot create '%s': %s", f->path,
			  strerror(saved));
		spool_file_free(f);
		return SPOOL_EIO;
	}
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = '\0';
	hdr.version = SPOOL_VERSION;
	hdr.start_ns = (uint64_t)ts.tv_sec * 1000000000ull +
		       (uint64_t)ts.tv_nsec;
	hdr.pid = (uint32_t)getpid();
	hdr.service = service ? service : "";
	hdr.host = host;
	n = spool_encode_header(buf, sizeof(buf), &hdr);
	if (!n || write_all(f->fd, buf, n) < 0) {
		saved = errno;
		set_cause(cause, SPOOL_EIO, "cannot write '%s': %s", f->path,
			  n ? strerror(saved) : "service name too long");
		unlink(f->path);
		spool_file_free(f);
		return SPOOL_EIO;
	}
	*out = f;
	return 0;
}

int spool_file_append(struct spool_file *f, const void *data, size_t len,
		      char **cause)
{
	if (write_all(f->fd, data, len) < 0)
		return set_cause(cause, SPOOL_EIO, "cannot write '%s': %s",
				 f->path, strerror(errno));
	return 0;
}

int spool_file_write_span(struct spool_file *f, const struct spool_span *s,
			  char **cause)
{
	size_t need = spool_span_size(s), n;
	char stackbuf[2048];
	char *buf = stackbuf;
	int ret;

	if (need > sizeof(stackbuf)) {
		buf = malloc(need);
		if (!buf)
			return set_cause(cause, SPOOL_EIO, "out of memory");
	}
	n = spool_encode_span(buf, need, s);
	if (!n)
		ret = set_cause(cause, SPOOL_EFORMAT,
				"span '%s' does not fit a spool record",
				s->name ? s->name : "");
	else
		ret = spool_file_append(f, buf, n, cause);
	if (buf != stackbuf)
		free(buf);
	return ret;
}

const char *spool_file_path(const struct spool_file *f)
{
	return f->path;
}

int spool_file_fd(const struct spool_file *f)
{
	return f->fd;
}

void spool_file_free(struct spool_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

/* Reading files: a window of the file in memory, refilled with pread so
 * that a growing file is followed. */

struct spool_reader {
	int fd;
	char *path;
	struct spool_header hdr;
	char *hdr_strings;
	uint64_t data_off;
	uint64_t pos;
	unsigned char *win;
	size_t win_size;
	uint64_t win_off;
	size_t win_len;
	char *scratch;
	size_t scratch_size;
};

/* Make [off, off+n) available in the window, as far as the file goes.
 * Returns a pointer to off and sets *avail; NULL on error. */
static const unsigned char *window(struct spool_reader *r, uint64_t off,
				   size_t n, size_t *avail)
{
	if (off >= r->win_off && off + n <= r->win_off + r->win_len) {
		*avail = (size_t)(r->win_off + r->win_len - off);
		return r->win + (off - r->win_off);
	}
	if (n > r->win_size || !r->win) {
		size_t sz = n > 256 * 1024 ? n : 256 * 1024;
		unsigned char *w = realloc(r->win, sz);
		if (!w)
			return NULL;
		r->win = w;
		r->win_size = sz;
	}
	r->win_off = off;
	r->win_len = 0;
	while (r->win_len < r->win_size) {
		ssize_t got = pread(r->fd, r->win + r->win_len,
				    r->win_size - r->win_len,
				    (off_t)(off + r->win_len));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return NULL;
		if (got == 0)
			break;
		r->win_len += (size_t)got;
	}
	*avail = r->win_len;
	return r->win;
}

int spool_reader_open(struct spool_reader **out, const char *path,
		      char **cause)
{
	struct spool_reader *r;
	const unsigned char *p;
	size_t avail, hlen, svc_len, host_len, off;
	uint32_t version;
	int ret;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return set_cause(cause, SPOOL_EIO, "out of memory");
	r->fd = -1;
	r->path = strdup(path);
	if (r->path)
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!r->path || r->fd < 0) {
		ret = set_cause(cause, SPOOL_EIO, "cannot open '%s': %s", path,
				r->path ? strerror(errno) : "out of memory");
		goto fail;
	}
	p = window(r, 0, 16, &avail);
	if (!p) {
		ret = set_cause(cause, SPOOL_EIO, "cannot read '%s': %s", path,
				strerror(errno));
		goto fail;
	}
	if (avail < SPOOL_MAGIC_SIZE &&
	    !memcmp(p, SPOOL_MAGIC, avail)) {
		ret = set_cause(cause, SPOOL_ETORN,
				"'%s': header incomplete", path);
		goto fail;
	}
	if (avail < SPOOL_MAGIC_SIZE || memcmp(p, SPOOL_MAGIC, 8)) {
		ret = set_cause(cause, SPOOL_EFORMAT,
				"'%s' is not a spool file", path);
		goto fail;
	}
	if (avail < 16) {
		ret = set_cause(cause, SPOOL_ETORN,
				"'%s': header incomplete", path);
		goto fail;
	}
	version = get_u32(p + 8);
	hlen = get_u32(p + 12);
	if (version != SPOOL_VERSION) {
		ret = set_cause(cause, SPOOL_EVERSION,
				"'%s': unknown spool format version %u "
				"(this harness reads version %u)",
				path, (unsigned)version, SPOOL_VERSION);
		goto fail;
	}
	if (hlen < 16 + 8 + 4 + 4 + 4 || hlen > 0x30000) {
		ret = set_cause(cause, SPOOL_EFORMAT,
				"'%s': bad header length %zu", path, hlen);
		goto fail;
	}
	p = window(r, 0, hlen, &avail);
	if (!p) {
		ret = set_cause(cause, SPOOL_EIO, "cannot read '%s': %s", path,
				strerror(errno));
		goto fail;
	}
	if (avail < hlen) {
		ret = set_cause(cause, SPOOL_ETORN,
				"'%s': header incomplete", path);
		goto fail;
	}
	if (spool_crc32c(0, p, hlen - 4) != get_u32(p + hlen - 4)) {
		ret = set_cause(cause, SPOOL_EFORMAT,
				"'%s': header checksum mismatch", path);
		goto fail;
	}
	r->hdr.version = version;
	r->hdr.start_ns = get_u64(p + 16);
	r->hdr.pid = get_u32(p + 24);
	off = 28;
	svc_len = get_u16(p + off);
	if (off + 2 + svc_len + 2 > hlen - 4)
		goto bad_strings;
	host_len = get_u16(p + off + 2 + svc_len);
	if (off + 2 + svc_len + 2 + host_len != hlen - 4)
		goto bad_strings;
	r->hdr_strings = malloc(svc_len + host_len + 2);
	if (!r->hdr_strings) {
		ret = set_cause(cause, SPOOL_EIO, "out of memory");
		goto fail;
	}
	memcpy(r->hdr_strings, p + off + 2, svc_len);
	r->hdr_strings[svc_len] = '\0';
	memcpy(r->hdr_strings + svc_len + 1, p + off + 4 + svc_len, host_len);
	r->hdr_strings[svc_len + 1 + host_len] = '\0';
	r->hdr.service = r->hdr_strings;
	r->hdr.host = r->hdr_strings + svc_len + 1;
	r->data_off = hlen;
	r->pos = hlen;
	*out = r;
	return 0;

bad_strings:
	ret = set_cause(cause, SPOOL_EFORMAT, "'%s': malformed header", path);
fail:
	spool_reader_free(r);
	return ret;
}

const struct spool_header *spool_reader_header(const struct spool_reader *r)
{
	return &r->hdr;
}

uint64_t spool_reader_data_offset(const struct spool_reader *r)
{
	return r->data_off;
}

int spool_reader_seek(struct spool_reader *r, uint64_t offset)
{
	r->pos = offset < r->data_off ? r->data_off : offset;
	return 0;
}

uint64_t spool_reader_offset(const struct spool_reader *r)
{
	return r->pos;
}

/* After a corrupt record at start: find the next offset where a valid
 * record begins, or where a record begins that runs past the end of the
 * file (a torn tail), or the end of the file. */
static int resync(struct spool_reader *r, uint64_t start, uint64_t *next)
{
	for (uint64_t off = start + 1;; off++) {
		struct spool_record rec;
		const unsigned char *p;
		size_t avail;
		int st;

		p = window(r, off, 2, &avail);
		if (!p)
			return -1;
		if (avail < 2) {
			*next = off + avail;
			return 0;
		}
		if (get_u16(p) != SPOOL_SYNC)
			continue;
		p = window(r, off, SPOOL_RECORD_HEADER_SIZE, &avail);
		if (!p)
			return -1;
		if (avail >= SPOOL_RECORD_HEADER_SIZE) {
			uint32_t len = get_u32(p + 4);
			if (len > SPOOL_MAX_PAYLOAD)
				continue;
			p = window(r, off, SPOOL_RECORD_HEADER_SIZE + len +
						   SPOOL_RECORD_TRAILER_SIZE,
				   &avail);
			if (!p)
				return -1;
		}
		st = spool_decode_record(p, avail, &rec, &r->scratch,
					 &r->scratch_size);
		if (st == SPOOL_READ_ERROR)
			return -1;
		if (st == SPOOL_READ_OK || st == SPOOL_READ_TORN) {
			*next = off;
			return 0;
		}
	}
}

int spool_reader_next(struct spool_reader *r, struct spool_record *rec,
		      char **cause)
{
	const unsigned char *p;
	size_t avail, total;
	uint64_t next;
	int st;

	p = window(r, r->pos, SPOOL_RECORD_HEADER_SIZE, &avail);
	if (!p)
		goto io_error;
	if (avail == 0) {
		memset(rec, 0, sizeof(*rec));
		return SPOOL_READ_EOF;
	}
	total = SPOOL_RECORD_HEADER_SIZE + SPOOL_RECORD_TRAILER_SIZE;
	if (avail >= SPOOL_RECORD_HEADER_SIZE &&
	    get_u16(p) == SPOOL_SYNC && get_u32(p + 4) <= SPOOL_MAX_PAYLOAD) {
		total += get_u32(p + 4);
		p = window(r, r->pos, total, &avail);
		if (!p)
			goto io_error;
	}
	st = spool_decode_record(p, avail, rec, &r->scratch,
				 &r->scratch_size);
	if (st == SPOOL_READ_ERROR)
		return set_cause(cause, SPOOL_READ_ERROR, "out of memory");
	if (st == SPOOL_READ_TORN && (avail < 2 || get_u16(p) == SPOOL_SYNC)) {
		/* A record's start that runs past the end of the file. */
		memset(rec, 0, sizeof(*rec));
		rec->offset = r->pos;
		return SPOOL_READ_TORN;
	}
	if (st == SPOOL_READ_OK) {
		rec->offset = r->pos;
		rec->end += r->pos;
		r->pos = rec->end;
		return SPOOL_READ_OK;
	}
	/* Corrupt (or a short tail that does not start like a record). */
	if (resync(r, r->pos, &next) < 0)
		goto io_error;
	memset(rec, 0, sizeof(*rec));
	rec->offset = r->pos;
	rec->end = next;
	rec->skipped = next - r->pos;
	r->pos = next;
	return SPOOL_READ_CORRUPT;

io_error:
	return set_cause(cause, SPOOL_READ_ERROR, "cannot read '%s': %s",
			 r->path, strerror(errno));
}

void spool_reader_free(struct spool_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->hdr_strings);
	free(r->win);
	free(r->scratch);
	free(r);
}
