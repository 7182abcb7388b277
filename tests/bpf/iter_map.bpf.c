// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: an iter/bpf_map_elem iterator bound to a hash map
// with GADGET_ITER_TARGET_MAP (gpu_top's pattern). The kernel needs the map's
// fd in the link's iter_info.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gadget.h"

struct elem {
	__u32 key;
	__u32 pad;
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

GADGET_ITER(elems, elem, ig_iter_counts);
GADGET_ITER_TARGET_MAP(ig_iter_counts, counts);

SEC("iter/bpf_map_elem")
int ig_iter_counts(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	__u64 *val = ctx->value;
	struct elem e = {};

	if (!key || !val)
		return 0;
	e.key = *key;
	e.value = *val;
	bpf_seq_write(seq, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
