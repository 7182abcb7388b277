// SPDX-License-Identifier: Apache-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	gadget_comm comm[16];
};

GADGET_TRACER_MAP(events, 4096 * 16);
GADGET_TRACER(exec, events, event);

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ig_sched_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
