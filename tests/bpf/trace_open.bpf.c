// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: a trace_open-like tracer exercising field derivation.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

enum open_kind : __u32 {
	OPEN_KIND_PLAIN = 0,
	OPEN_KIND_AT = 1,
};

struct proc {
	gadget_comm comm[16];
	gadget_pid pid;
	gadget_tid tid;
	gadget_mntns_id mntns_id;
};

struct event {
	gadget_timestamp timestamp_raw; /* 0 */
	struct proc proc;               /* 8 .. 40 */
	__u8 u8v;                       /* 40 */
	__s8 s8v;                       /* 41 */
	__u16 u16v;                     /* 42 */
	__s16 s16v;                     /* 44 */
	__u32 u32v;                     /* 48 */
	__s32 s32v;                     /* 52 */
	__u64 u64v;                     /* 56 */
	__s64 s64v;                     /* 64 */
	bool flag;                      /* 72 */
	__u8 __pad[3];                  /* 73 */
	enum open_kind kind;            /* 76 */
	char fname[256];                /* 80 .. 336 */
	__u16 ports[3];                 /* 336 .. 342: ArrayOf(uint16) */
	__s32 deltas[2];                /* 344 .. 352: ArrayOf(int32) */
};

const volatile __u32 targ_pid = 0;
GADGET_PARAM(targ_pid);

const volatile bool targ_flag = true;
GADGET_PARAM(targ_flag);

const volatile __s64 some_value = -5;
GADGET_PARAM(some_value);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(open, events, event);

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_open_e(struct syscall_trace_enter *ctx)
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
	ev->u8v = 0xfe;
	ev->s8v = -2;
	ev->u16v = 0xfffe;
	ev->s16v = -3;
	ev->u32v = 0xfffffffe;
	ev->s32v = -4;
	ev->u64v = 0xfffffffffffffffeULL;
	ev->s64v = some_value;
	ev->flag = targ_flag;
	ev->__pad[0] = ev->__pad[1] = ev->__pad[2] = 0;
	ev->kind = OPEN_KIND_AT;
	ev->ports[0] = 80;
	ev->ports[1] = 443;
	ev->ports[2] = 0xffff;
	ev->deltas[0] = -7;
	ev->deltas[1] = 9;
	bpf_probe_read_user_str(ev->fname, sizeof(ev->fname),
				(const char *)ctx->args[1]);

	gadget_submit_buf(ctx, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
