// SPDX-License-Identifier: Apache-2.0
// fentry programs are refused by the test kernel (EPERM at load): the loader
// must report the program, section and reason.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(fe, events, event);

SEC("fentry/do_sys_openat2")
int BPF_PROG(ig_fentry_openat2)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
