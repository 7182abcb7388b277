// SPDX-License-Identifier: Apache-2.0
// kprobes are not available on the test kernel: loading works, attaching
// must fail with an error naming the program and section.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(kp, events, event);

SEC("kprobe/do_sys_openat2")
int ig_kprobe_openat2(struct pt_regs *ctx)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
