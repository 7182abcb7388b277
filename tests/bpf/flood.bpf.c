// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: an event flood. Every system call of process
// `targ_pid` (0: every process) emits a 352-byte record shaped like
// trace_open's `open` events (so the trace_open_enrich wasm program runs on
// each one), fname = "flood". A child doing `dd bs=1` makes millions a second:
// the ring buffer overflows (counted as lost) and the queues fill.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gadget.h"

struct proc {
	gadget_comm comm[16];
	gadget_pid pid;
	gadget_tid tid;
	gadget_mntns_id mntns_id;
};

struct event {
	gadget_timestamp timestamp_raw;
	struct proc proc;
	__u64 nr;
	char fname[256];
	__u8 pad[48];
};

const volatile __u32 targ_pid = 0;
GADGET_PARAM(targ_pid);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(open, events, event);

SEC("tracepoint/raw_syscalls/sys_enter")
int ig_flood(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	struct event *ev;

	if (targ_pid && targ_pid != pid)
		return 0;
	ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->timestamp_raw = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(ev->proc.comm, sizeof(ev->proc.comm));
	ev->proc.pid = pid;
	ev->proc.tid = (__u32)pid_tgid;
	ev->proc.mntns_id = 0;
	ev->nr = ctx->id;
	__builtin_memset(ev->fname, 0, sizeof(ev->fname));
	__builtin_memcpy(ev->fname, "flood", 6);
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
