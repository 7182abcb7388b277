// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* histogram: a profile_blockio-shaped test object for IG's otel-metrics printing. A map
 * iterator over a hash map whose value is a `gadget_histogram_slot__u32 latency[27]`
 * array; each openat(2) of thread `targ_tid` adds one to slot `targ_slot`, so the test
 * knows every bucket count. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gadget.h"

typedef __u32 gadget_histogram_slot__u32;

#define SLOTS 27

struct hist_key {
	__u32 dev;
};

struct hist_value {
	gadget_histogram_slot__u32 latency[SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct hist_key);
	__type(value, struct hist_value);
} hists SEC(".maps");

GADGET_MAPITER(hist, hists);

const volatile __u32 targ_tid = 0;
GADGET_PARAM(targ_tid);

const volatile __u32 targ_slot = 0;
GADGET_PARAM(targ_slot);

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_hist_e(void *ctx)
{
	struct hist_key key = { .dev = 1 };
	struct hist_value zero = {}, *v;
	__u32 slot = targ_slot;

	if (targ_tid && targ_tid != (__u32)bpf_get_current_pid_tgid())
		return 0;
	v = bpf_map_lookup_elem(&hists, &key);
	if (!v) {
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&hists, &key);
		if (!v)
			return 0;
	}
	if (slot >= SLOTS)
		slot = SLOTS - 1;
	__sync_fetch_and_add(&v->latency[slot], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
