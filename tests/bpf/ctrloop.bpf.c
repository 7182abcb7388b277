// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: per-container perf buffers in a map of maps keyed by mount namespace
// (the mechanism of IG's traceloop). The wasm guest (tests/gadgets/go/ctrloop) creates one
// PERF_EVENT_ARRAY per container from the `containers` data source and inserts it here;
// this program writes an openat record into the buffer of the caller's mount namespace.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "gadget.h"

struct ctr_event {
	__u64 mntns_id;
	__u32 pid;
	__u32 __pad;
	char comm[16];
	char fname[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 64);
	__array(
		values, struct {
			__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
			__uint(key_size, sizeof(__u32));
			__uint(value_size, sizeof(__u32));
		});
} map_of_perf_buffers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ctr_event);
} ctr_heap SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_ctrloop_openat(struct syscall_trace_enter *ctx)
{
	__u64 mntns_id = gadget_get_current_mntns_id();
	void *buf = bpf_map_lookup_elem(&map_of_perf_buffers, &mntns_id);
	if (!buf)
		return 0;
	__u32 zero = 0;
	struct ctr_event *ev = bpf_map_lookup_elem(&ctr_heap, &zero);
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->mntns_id = mntns_id;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_probe_read_user_str(ev->fname, sizeof(ev->fname), (const char *)BPF_CORE_READ(ctx, args[1]));
	bpf_perf_event_output(ctx, buf, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
