/* collect.h: the OTLP/HTTP trace receiver. It listens on a loopback port,
 * accepts `POST /v1/traces` (protobuf or JSON, gzip or identity) and
 * appends every valid span to one spool file of its own, so that ingest
 * stores them like any libhtrace span.
 *
 * Durability: a request is acknowledged (200) only after all of its
 * records went to the spool file in one write(2) under a mutex. Records
 * that write(2) handed to the kernel survive the collector being killed
 * (the page cache belongs to the kernel, not to the process); with
 * fsync set they also survive the machine losing power, at a cost per
 * request. Either every span of a request that was accepted is written,
 * or the request fails with 500 and nothing is acknowledged. */
#ifndef HARNESS_COLLECT_H
#define HARNESS_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#define COLLECT_DEFAULT_LISTEN "127.0.0.1:4318"
#define COLLECT_DEFAULT_MAX_BODY (16u << 20)

struct collect_options {
	const char *listen;	/* "ADDR:PORT", "[V6]:PORT"; NULL: default;
				 * port 0 picks a free port */
	const char *spool_dir;	/* where the spool file goes; required */
	const char *token;	/* bearer token required when set */
	size_t max_body;	/* received and inflated; 0: default */
	int fsync;		/* fdatasync after each request's write */
};

struct collect_stats {
	uint64_t requests;	/* POST /v1/traces answered */
	uint64_t spans_accepted;
	uint64_t spans_rejected;
	uint64_t bad_requests;	/* answered with a 4xx */
	uint64_t write_errors;	/* answered with a 500 */
};

struct collector;

/* Start listening (an internal thread serves requests) and create the
 * spool file. Returns 0, or -1 with *cause set (the caller frees it). */
int collect_start(struct collector **out, const struct collect_options *opts,
		  char **cause);
/* "ADDR:PORT" as bound (with the real port). Borrowed from c. */
const char *collect_address(const struct collector *c);
unsigned collect_port(const struct collector *c);
/* The spool file the spans go to. Borrowed from c. */
const char *collect_spool_path(const struct collector *c);
void collect_stats(const struct collector *c, struct collect_stats *out);
/* Stop listening; requests in progress finish first. The spool file
 * stays open (and collect_spool_path valid) until collect_stop(). */
void collect_stop_listening(struct collector *c);
/* Stop listening (requests in progress finish first), close the spool
 * file and free c. Accepts NULL. */
void collect_stop(struct collector *c);

#endif
