/* netaddr.h: IPv4 subnets and the lowest-free-address allocation that the
 * network service does inside its transaction. */
#ifndef HARNESS_REFSTACK_NETADDR_H
#define HARNESS_REFSTACK_NETADDR_H

#include <stddef.h>
#include <stdint.h>

/* Parse dotted-quad "10.0.0.7" into host order; -1 if malformed. */
int rs_ip_parse(const char *s, uint32_t *ip);
/* Format host-order ip into buf (at least 16 bytes). */
void rs_ip_format(uint32_t ip, char *buf);
/* Parse "10.0.0.0/24": the network (host bits must be zero) and the prefix
 * length, 8..30. -1 if malformed. */
int rs_cidr_parse(const char *s, uint32_t *net, unsigned *prefix);
/* The range of addresses given out in a subnet: the network address, the
 * gateway (network + 1) and the broadcast address are never given out. */
void rs_cidr_pool(uint32_t net, unsigned prefix, uint32_t *first,
		  uint32_t *last);
/* The lowest address in [first, last] that is not in used (n addresses in
 * any order, duplicates and out-of-range entries allowed). Sorts used in
 * place. Returns -1 when the range is full. */
int rs_ip_lowest_free(uint32_t first, uint32_t last, uint32_t *used, size_t n,
		      uint32_t *out);

#endif
