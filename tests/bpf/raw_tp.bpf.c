// SPDX-License-Identifier: Apache-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	__u32 pad;
	__u64 id;
};

GADGET_TRACER_MAP(events, 4096 * 16);
GADGET_TRACER(sysenter, events, event);

SEC("raw_tracepoint/sys_enter")
int ig_raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->pad = 0;
	ev->id = ctx->args[1];
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
