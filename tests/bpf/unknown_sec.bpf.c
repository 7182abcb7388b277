// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: program sections aya-obj 0.3 does not know.
// "socket1" (used by IG's network gadgets) is renamed to "socket"; the
// "usdt/..." program is dropped (with its CO-RE relocations) and reported.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	__u32 ppid;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(unk, events, event);

SEC("tracepoint/syscalls/sys_enter_getpid")
int ig_unk_tp(void *ctx)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ppid = 0;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

SEC("socket1")
int ig_unk_socket(struct __sk_buff *skb)
{
	return 0;
}

SEC("usdt/libc:prov:probe")
int ig_unk_usdt(struct pt_regs *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
