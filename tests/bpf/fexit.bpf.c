// SPDX-License-Identifier: Apache-2.0
// fexit on do_sys_openat2: one event per return with the caller's pid, the
// dfd argument and the returned fd. Attaches only on kernels that allow
// BTF-attached tracing programs (tests/vm_kprobes.rs, run inside the VM by
// scripts/vm.sh).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	__s32 dfd;
	__s64 ret;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(fx, events, event);

SEC("fexit/do_sys_openat2")
int BPF_PROG(ig_fexit_openat2, int dfd, const char *filename, struct open_how *how, long ret)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->dfd = dfd;
	ev->ret = ret;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
