// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: perf event array output (as IG's perf test).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct perf_event_t {
	__u32 a;
	__u32 b;
	__u32 c;
	__u8 unused[244];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct perf_event_t);
} perf_heap SEC(".maps");

const void *gadget_tracer_perf___events___perf_event_t __attribute__((unused));
const struct perf_event_t *__gadget_tracer_type_perf __attribute__((unused));

SEC("tracepoint/syscalls/sys_enter_write")
int ig_perf_write(void *ctx)
{
	__u32 zero = 0;
	struct perf_event_t *ev = bpf_map_lookup_elem(&perf_heap, &zero);
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->a = 42;
	ev->b = 42;
	ev->c = 43;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
