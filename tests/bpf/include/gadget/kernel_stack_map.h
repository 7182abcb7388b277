/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own minimal stand-in for Inspektor Gadget's
 * <gadget/kernel_stack_map.h>: the STACK_TRACE map `ig_kstack` that the
 * kernel-stack formatter (fields typed gadget_kernel_stack) reads stack ids
 * from. The map name is what the formatter looks for.
 */
#ifndef GADGETRT_GADGET_KERNEL_STACK_MAP_H
#define GADGETRT_GADGET_KERNEL_STACK_MAP_H

#include <bpf/bpf_helpers.h>
#include <gadget/types.h>

#define GADGET_KERNEL_MAX_STACK_DEPTH 127
#define GADGET_KERNEL_STACK_MAP_MAX_ENTRIES 10000

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GADGET_KERNEL_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, GADGET_KERNEL_STACK_MAP_MAX_ENTRIES);
} ig_kstack SEC(".maps");

/* The id of the current kernel stack in ig_kstack (the helper's negative
 * error code, truncated, when it fails). */
static __always_inline gadget_kernel_stack gadget_get_kernel_stack(void *ctx)
{
	return (gadget_kernel_stack)bpf_get_stackid(ctx, &ig_kstack, 0);
}

#endif /* GADGETRT_GADGET_KERNEL_STACK_MAP_H */
