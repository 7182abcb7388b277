// SPDX-License-Identifier: Apache-2.0
// kretprobe on do_sys_openat2: one event per return with the caller's pid and
// the returned fd. Attaches only on kernels with kprobes (tests/vm_kprobes.rs,
// run inside the VM by scripts/vm.sh).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	__s64 ret;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(krp, events, event);

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(ig_kretprobe_openat2, long ret)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ret = ret;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
