// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* enum_flags: a trace_mount-shaped test object for the eBPF layer's enum formatter. One
 * event per openat(2) of process `targ_pid`, carrying a flags enum (`flags_set`, a bit set)
 * and a plain enum (`op`) whose values come from params, so the test knows the text the
 * formatter must produce. The Rust guest `rust_mountcall` looks the formatter's `flags`
 * and `op` text fields up in gadgetInit, as IG's trace_mount does. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gadget.h"

enum flags_set {
	MS_RDONLY = 1,
	MS_NOSUID = 2,
	MS_NODEV = 4,
	MS_NOEXEC = 8,
};

enum op {
	MOUNT = 0,
	UMOUNT = 1,
};

struct event {
	gadget_timestamp timestamp_raw;
	__u32 pid;
	enum flags_set flags_raw;
	enum op op_raw;
	__u32 __pad;
};

const volatile __u32 targ_pid = 0;
GADGET_PARAM(targ_pid);

const volatile __u32 targ_flags = 0;
GADGET_PARAM(targ_flags);

const volatile __u32 targ_op = 0;
GADGET_PARAM(targ_op);

GADGET_TRACER_MAP(events, 1024 * 64);
GADGET_TRACER(mount, events, event);

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_mount_e(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *ev;

	if (targ_pid && targ_pid != pid)
		return 0;
	ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->timestamp_raw = bpf_ktime_get_boot_ns();
	ev->pid = pid;
	ev->flags_raw = targ_flags;
	ev->op_raw = targ_op;
	ev->__pad = 0;
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
