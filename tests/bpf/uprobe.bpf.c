// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: uprobe; the test points it at a function of its own
// binary through LoadOptions::attach_to ("<path>:<symbol>").
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	__u32 arg;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(up, events, event);

SEC("uprobe/libc:getpid")
int BPF_KPROBE(ig_uprobe_fn, __u32 arg)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->arg = arg;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
