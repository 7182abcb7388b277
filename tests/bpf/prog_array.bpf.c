// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: PROG_ARRAY declared with __array(values, int()), the
// form IG's user_stack_map.h uses for its OTel tail-call maps (aya-obj 0.3
// rejects it unless the loader patches the BTF).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gadget.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__array(values, int());
} tail_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int());
} tail_calls2 SEC(".maps");

struct event {
	__u32 pid;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(pa, events, event);

/* map sized by the <map>_max_entries convention (declared with 0 entries) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 0);
	__type(key, __u32);
	__type(value, __u64);
} sized_map SEC(".maps");
const volatile __u32 sized_map_max_entries = 128;

SEC("tracepoint/syscalls/sys_enter_getppid")
int ig_pa_tp(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1;
	struct event *ev;

	bpf_map_update_elem(&sized_map, &pid, &one, BPF_ANY);
	bpf_tail_call(ctx, &tail_calls, 0);
	bpf_tail_call(ctx, &tail_calls2, 1);
	ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = pid;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
