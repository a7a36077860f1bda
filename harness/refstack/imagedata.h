/* imagedata.h: the bytes of the image service's images, made up on demand
 * from a seed so that nothing large is stored and any range can be served. */
#ifndef HARNESS_REFSTACK_IMAGEDATA_H
#define HARNESS_REFSTACK_IMAGEDATA_H

#include <stddef.h>
#include <stdint.h>

/* The seed of an image: a hash of its id. */
uint64_t rs_image_seed(const char *id);
/* Fill buf with the len bytes at offset of the image with this seed. The
 * same (seed, offset) always gives the same byte. */
void rs_image_fill(uint64_t seed, uint64_t offset, unsigned char *buf,
		   size_t len);

#endif
