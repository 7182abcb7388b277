// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: uprobe targets as IG resolves them (library names
// through /etc/ld.so.cache). Two targets cannot attach (a library that does
// not exist, a symbol libc lacks): warnings, and the gadget runs with the
// third, libc's getppid.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct event {
	gadget_pid pid;
	__u32 which;
};

GADGET_TRACER_MAP(events, 4096 * 4);
GADGET_TRACER(up, events, event);

static __always_inline int emit(void *ctx, __u32 which)
{
	struct event *ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->which = which;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

SEC("uprobe/libgadgetrt_no_such_library:foo")
int BPF_KPROBE(ig_up_nolib)
{
	return emit(ctx, 1);
}

SEC("uprobe/libc:gadgetrt_no_such_symbol")
int BPF_KPROBE(ig_up_nosym)
{
	return emit(ctx, 2);
}

SEC("uprobe/libc:getppid")
int BPF_KPROBE(ig_up_getppid)
{
	return emit(ctx, 3);
}

char LICENSE[] SEC("license") = "GPL";
