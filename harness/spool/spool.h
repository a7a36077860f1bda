/* spool.h: the spool file format, the one way a span enters the store.
 * Shared by libhtrace (writer), the collector (writer) and ingest (reader).
 *
 * A file is a header followed by records. All integers are little-endian.
 *
 *   header: "HTSPOOL\n" (8), u32 version, u32 header length (whole header,
 *           magic and CRC included), u64 start time (unix ns), u32 pid,
 *           u16+bytes service, u16+bytes host, u32 CRC-32C of what precedes
 *   record: u16 sync 0x5EB7, u8 type, u8 record version, u32 payload
 *           length, payload, u32 CRC-32C of sync..payload
 *
 * A record that runs past the end of the file is a torn tail (a writer is
 * still writing, or crashed mid-write): readers stop before it and try
 * again later. A record whose CRC does not match is corrupt: readers skip
 * it, resynchronising on the next valid record. */
#ifndef HARNESS_SPOOL_H
#define HARNESS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAGIC "HTSPOOL\n"
#define SPOOL_MAGIC_SIZE 8
#define SPOOL_VERSION 1
#define SPOOL_SYNC 0x5EB7
#define SPOOL_RECORD_HEADER_SIZE 8
#define SPOOL_RECORD_TRAILER_SIZE 4
/* No record payload is larger; a larger length is corruption. */
#define SPOOL_MAX_PAYLOAD (1u << 20)
/* Spool file names end with this. */
#define SPOOL_SUFFIX ".htspool"

enum spool_record_type {
	SPOOL_RECORD_SPAN = 1,
	SPOOL_RECORD_DROPPED = 2,	/* spans lost since the last one */
	SPOOL_RECORD_THREAD = 3,	/* a thread's name */
};

enum spool_attr_type {
	SPOOL_ATTR_STR = 1,
	SPOOL_ATTR_INT = 2,
	SPOOL_ATTR_DOUBLE = 3,
	SPOOL_ATTR_BOOL = 4,
};

enum spool_status_code {
	SPOOL_STATUS_OK = 0,
	SPOOL_STATUS_ERROR = 1,
};

/* Strings in these structs are NUL-terminated. In decoded records they are
 * borrowed from the reader and valid until its next call. */
struct spool_attr {
	const char *key;
	enum spool_attr_type type;
	union {
		const char *s;
		int64_t i;
		double d;
		int b;
	} v;
};

/* A return address as captured: the object it falls in (dladdr's path),
 * its offset from that object's load base, and the dynamic symbol that
 * dladdr found (NULL or "" if none). */
struct spool_frame {
	uint64_t pc;
	uint64_t offset;
	const char *module;
	const char *symbol;
};

/* One span, as DESIGN.md defines it. kind is an enum htrace_kind value;
 * status is SPOOL_STATUS_OK or SPOOL_STATUS_ERROR. service/host NULL (or
 * "") and pid 0 mean "as in the file header": the collector sets them
 * per span, libhtrace does not. */
struct spool_span {
	uint8_t trace_id[16];
	uint64_t span_id;
	uint64_t parent_id;	/* 0 for a root */
	unsigned kind;
	unsigned status;
	const char *name;
	const char *message;	/* NULL when none */
	const char *service;
	const char *host;
	uint32_t pid;
	uint32_t tid;
	uint64_t start_ns;	/* unix ns */
	uint64_t dur_ns;
	const struct spool_attr *attrs;
	size_t n_attrs;
	/* Encoder only, instead of attrs: n_raw_attrs attributes already
	 * encoded with spool_attr_put_*(). */
	const void *raw_attrs;
	size_t raw_attrs_len;
	size_t n_raw_attrs;
	const struct spool_frame *frames;
	size_t n_frames;
};

struct spool_dropped {
	uint64_t count;		/* spans lost since the previous record */
	uint64_t time_ns;	/* unix ns when counted */
};

struct spool_thread {
	uint32_t tid;
	const char *name;
};

struct spool_header {
	uint32_t version;
	uint64_t start_ns;
	uint32_t pid;
	const char *service;
	const char *host;
};

/* CRC-32C (Castagnoli), hardware-assisted where the CPU allows. */
uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len);

/* Kind names, shared with libhtrace: "rest.call" ...; NULL if unknown. */
const char *spool_kind_name(unsigned kind);
/* -1 when unknown. */
int spool_kind_parse(const char *name);

/* Encoding. Every encoder writes into buf (size bytes) and returns the
 * number of bytes written, or 0 when it does not fit or the input is
 * invalid (a string longer than the format allows). */
size_t spool_encode_header(void *buf, size_t size,
			   const struct spool_header *hdr);
size_t spool_encode_span(void *buf, size_t size,
			 const struct spool_span *span);
size_t spool_encode_dropped(void *buf, size_t size,
			    const struct spool_dropped *d);
size_t spool_encode_thread(void *buf, size_t size,
			   const struct spool_thread *t);
/* Sealing: a writer that lays records out itself (libhtrace builds span
 * records in place and leaves their CRCs for later) fills in the CRC of
 * every record of buf[0..len), which must hold whole records, just before
 * writing them. Returns 0, or -1 when a record's header does not fit the
 * buffer (the records before it are sealed). */
int spool_seal(void *buf, size_t len);
/* The fixed part of a span payload: trace id 16, span id, parent id,
 * start, duration (u64 each), pid, tid (u32), kind, status (u8), attribute
 * count, frame count, reserved (u16); then name, message, service, host
 * (u16 length + bytes each), attributes, frames. */
#define SPOOL_SPAN_FIXED_SIZE 64
/* The exact size spool_encode_span() needs. */
size_t spool_span_size(const struct spool_span *span);
/* Append one encoded attribute (for spool_span.raw_attrs). Returns bytes
 * written, 0 when it does not fit. */
size_t spool_attr_put_str(void *buf, size_t size, const char *key,
			  const char *value);
size_t spool_attr_put_int(void *buf, size_t size, const char *key,
			  int64_t value);
size_t spool_attr_put_double(void *buf, size_t size, const char *key,
			     double value);
size_t spool_attr_put_bool(void *buf, size_t size, const char *key,
			   int value);

/* Writing a spool file (for the collector; libhtrace has its own buffered
 * writer). spool_file_create() makes "<dir>/<service>-<pid>-<random>.htspool"
 * and writes the header; spool_file_append() writes whole records with one
 * write(2) under O_APPEND. */
struct spool_file;
int spool_file_create(struct spool_file **out, const char *dir,
		      const char *service, char **cause);
int spool_file_append(struct spool_file *f, const void *data, size_t len,
		      char **cause);
int spool_file_write_span(struct spool_file *f, const struct spool_span *s,
			  char **cause);
const char *spool_file_path(const struct spool_file *f);
/* The file descriptor (O_APPEND), for writers that buffer on their own. */
int spool_file_fd(const struct spool_file *f);
void spool_file_free(struct spool_file *f);

/* Reading. */
enum spool_read_result {
	SPOOL_READ_OK = 0,	/* a record is in *rec */
	SPOOL_READ_EOF = 1,	/* clean end: nothing more (for now) */
	SPOOL_READ_TORN = 2,	/* an incomplete record at the end: stop;
				 * the offset stays before it */
	SPOOL_READ_CORRUPT = 3,	/* bytes skipped (rec->skipped); call again */
	SPOOL_READ_ERROR = -1,	/* I/O error; see cause */
};

struct spool_record {
	enum spool_record_type type;
	unsigned version;
	uint64_t offset;	/* where the record starts in the file */
	uint64_t end;		/* where the next one starts */
	uint64_t skipped;	/* SPOOL_READ_CORRUPT: bytes skipped */
	union {
		struct spool_span span;
		struct spool_dropped dropped;
		struct spool_thread thread;
	} u;
};

struct spool_reader;
/* Open a spool file and read its header. Errors (negative, with *cause
 * set, the caller frees it): cannot open, not a spool file, unknown
 * format version (SPOOL_EVERSION), header incomplete (SPOOL_ETORN: the
 * writer has not finished it; try again later). */
#define SPOOL_EIO (-1)
#define SPOOL_EFORMAT (-2)
#define SPOOL_EVERSION (-3)
#define SPOOL_ETORN (-4)
int spool_reader_open(struct spool_reader **out, const char *path,
		      char **cause);
/* Borrowed from the reader, valid until spool_reader_free(). */
const struct spool_header *spool_reader_header(const struct spool_reader *r);
/* Where the first record starts (after the header). */
uint64_t spool_reader_data_offset(const struct spool_reader *r);
/* Continue from offset (a value of spool_reader_offset() saved earlier);
 * offsets before the first record mean the first record. */
int spool_reader_seek(struct spool_reader *r, uint64_t offset);
/* The next record. Records of an unknown type or newer record version are
 * returned as SPOOL_READ_OK with only type/version/offset/end set, so
 * callers can skip them. */
int spool_reader_next(struct spool_reader *r, struct spool_record *rec,
		      char **cause);
/* Offset after the last record returned (or skipped): where to resume. */
uint64_t spool_reader_offset(const struct spool_reader *r);
void spool_reader_free(struct spool_reader *r);

/* Decode one record held in memory (data points at its sync bytes).
 * Returns SPOOL_READ_OK, SPOOL_READ_TORN (len too short) or
 * SPOOL_READ_CORRUPT. Strings borrow from scratch, which the function
 * (re)allocates; free it with free(). */
int spool_decode_record(const void *data, size_t len,
			struct spool_record *rec, char **scratch,
			size_t *scratch_size);

#endif
