// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: user stacks (IG's `ustack` operator). One event per
// openat of process `targ_pid`, carrying a `struct gadget_user_stack` filled
// by our own include/gadget/user_stack_map.h (params collect_ustack,
// collect_build_id; maps ig_ustack, ig_build_id).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"
#include "include/gadget/user_stack_map.h"

struct proc {
	gadget_comm comm[16];
	gadget_pid pid;
	gadget_tid tid;
};

struct event {
	struct proc proc;
	char fname[128];
	struct gadget_user_stack ustack;
};

const volatile __u32 targ_pid = 0;
GADGET_PARAM(targ_pid);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(open, events, event);

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_ustack_open(struct syscall_trace_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	struct event *ev;

	if (targ_pid && targ_pid != pid)
		return 0;

	ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;

	bpf_get_current_comm(ev->proc.comm, sizeof(ev->proc.comm));
	ev->proc.pid = pid;
	ev->proc.tid = (__u32)pid_tgid;
	bpf_probe_read_user_str(ev->fname, sizeof(ev->fname),
				(const char *)ctx->args[1]);
	gadget_get_user_stack(ctx, &ev->ustack);

	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
