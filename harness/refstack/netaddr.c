/* netaddr.c: IPv4 parsing and the lowest-free-address search. */
#include "refstack/netaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rs_ip_parse(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int part = 0; part < 4; part++) {
		unsigned octet = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			octet = octet * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || octet > 255)
				return -1;
		}
		if (!digits)
			return -1;
		v = v << 8 | octet;
		if (part < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*ip = v;
	return 0;
}

void rs_ip_format(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255);
}

int rs_cidr_parse(const char *s, uint32_t *net, unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	char addr[16];
	char *end;
	unsigned long p;
	uint32_t ip, mask;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (rs_ip_parse(addr, &ip) < 0)
		return -1;
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	p = strtoul(slash + 1, &end, 10);
	if (*end || p < 8 || p > 30)
		return -1;
	mask = ~0u << (32 - p);
	if (ip & ~mask)
		return -1;
	*net = ip;
	*prefix = (unsigned)p;
	return 0;
}

void rs_cidr_pool(uint32_t net, unsigned prefix, uint32_t *first,
		  uint32_t *last)
{
	uint32_t size = 1u << (32 - prefix);

	*first = net + 2;
	*last = net + size - 2;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int rs_ip_lowest_free(uint32_t first, uint32_t last, uint32_t *used, size_t n,
		      uint32_t *out)
{
	uint32_t want = first;

	if (first > last)
		return -1;
	if (n)
		qsort(used, n, sizeof(*used), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		if (used[i] < want)
			continue;
		if (used[i] > want)
			break;
		if (want == last)
			return -1;
		want++;
	}
	*out = want;
	return 0;
}
