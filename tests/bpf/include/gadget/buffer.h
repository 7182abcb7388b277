/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own minimal stand-in for Inspektor Gadget's <gadget/buffer.h>:
 * ring-buffer tracer maps only (every kernel gadgetrt targets has
 * BPF_MAP_TYPE_RINGBUF, so there is no perf-buffer fallback here).
 *
 * GADGET_TRACER_MAP(map, size) declares the RINGBUF <map>, the per-CPU
 * counter <map>_lost_samples that the loader sums and reports, and the
 * marker gadget_map_tracer_<map>. The buffer helpers take the map's address
 * (`&events`), as in IG.
 */
#ifndef GADGETRT_GADGET_BUFFER_H
#define GADGETRT_GADGET_BUFFER_H

#include <bpf/bpf_helpers.h>

#define GADGET_TRACER_MAP(map, size)                                     \
	struct {                                                         \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                      \
		__uint(max_entries, size);                               \
	} map SEC(".maps");                                              \
	struct {                                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                 \
		__uint(max_entries, 1);                                  \
		__uint(key_size, sizeof(__u32));                         \
		__uint(value_size, sizeof(__u64));                       \
	} map##_lost_samples SEC(".maps");                               \
	const void *gadget_map_tracer_##map __attribute__((unused));

/* Reserve `size` bytes in the ring buffer `map` (its address); NULL when
 * the buffer is full. */
static __always_inline void *gadget_reserve_buf(void *map, __u64 size)
{
	return bpf_ringbuf_reserve(map, size, 0);
}

static __always_inline long gadget_submit_buf(void *ctx, void *map, void *buf,
					      __u64 size)
{
	bpf_ringbuf_submit(buf, 0);
	return 0;
}

static __always_inline void gadget_discard_buf(void *buf)
{
	bpf_ringbuf_discard(buf, 0);
}

/* Copy `size` bytes of `buf` into the ring buffer `map`. */
static __always_inline long gadget_output_buf(void *ctx, void *map, void *buf,
					      __u64 size)
{
	return bpf_ringbuf_output(map, buf, size, 0);
}

#endif /* GADGETRT_GADGET_BUFFER_H */
