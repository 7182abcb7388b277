// SPDX-License-Identifier: Apache-2.0
// trace_open: one event per openat(2), with the process, the flags and the path.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct proc {
	gadget_comm comm[16];
	gadget_pid pid;
	gadget_tid tid;
	gadget_mntns_id mntns_id;
};

struct event {
	gadget_timestamp timestamp_raw;
	struct proc proc;
	__u32 uid;
	__s32 flags_raw;
	__u32 mode_raw;
	char fname[256];
};

const volatile __u32 targ_pid = 0;
GADGET_PARAM(targ_pid);

/* 4 MiB: about 13,000 events, so a reader that is not scheduled for ~100 ms (it happens on
 * busy or virtualised hosts) still loses nothing at 100,000 opens/s. */
GADGET_TRACER_MAP(events, 1024 * 1024 * 4);
GADGET_TRACER(open, events, event);

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_openat_e(struct syscall_trace_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	gadget_mntns_id mntns_id = gadget_get_current_mntns_id();
	struct event *ev;

	if (targ_pid && targ_pid != pid)
		return 0;
	if (gadget_should_discard_mntns_id(mntns_id))
		return 0;
	ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->timestamp_raw = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(ev->proc.comm, sizeof(ev->proc.comm));
	ev->proc.pid = pid;
	ev->proc.tid = (__u32)pid_tgid;
	ev->proc.mntns_id = mntns_id;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->flags_raw = (__s32)ctx->args[2];
	ev->mode_raw = (__u32)ctx->args[3];
	bpf_probe_read_user_str(ev->fname, sizeof(ev->fname), (const char *)ctx->args[1]);
	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
