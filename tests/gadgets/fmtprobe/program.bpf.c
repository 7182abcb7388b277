// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// fmtprobe: a test gadget that exercises every output formatter of the IG
// operator pipeline with values chosen entirely by user space.
//
// A tracepoint on syscalls/sys_enter_openat copies the memory behind the
// `filename` argument into `struct fmtprobe_input`. When the copy starts with
// FMTPROBE_MAGIC, one `struct event` is emitted whose fields are taken from
// that input (plus the real process info and a real kernel stack). The
// trigger program (trigger.c) passes a `struct fmtprobe_input` as the path
// argument of openat(2), so tests fully control every value.

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <gadget/buffer.h>
#include <gadget/common.h>
#include <gadget/macros.h>
#include <gadget/types.h>
#include <gadget/kernel_stack_map.h>

// "FMTPROBE" read as a little-endian u64
#define FMTPROBE_MAGIC 0x45424f5250544d46ULL

// A plain enum: formatted to the name of the member with the same value,
// "UNKNOWN" otherwise.
enum color {
	RED = 0,
	GREEN = 1,
	BLUE = 7,
};

// A flags enum (type name ends in "_set"): formatted to the names of all
// members whose bits are set, joined by "|".
enum perms_set {
	P_READ = 1,
	P_WRITE = 2,
	P_EXEC = 4,
};

// A flags enum with a zero-valued member (which always matches).
enum zbits_set {
	ZB_NONE = 0,
	ZB_ONE = 1,
	ZB_TWO = 2,
};

// A signed enum with a negative member.
enum fmt_level {
	LVL_LOW = -2,
	LVL_MID = 0,
	LVL_HIGH = 2,
};

struct nested {
	__u32 a;
	__u32 b;
};

// The input as written by trigger.c. Keep in sync with trigger.c; both sides
// check the size. All members are naturally aligned, no implicit padding.
struct fmtprobe_input {
	__u64 magic; // FMTPROBE_MAGIC
	__u64 timestamp; // boot-time ns, 0 = "now"
	__u64 syscall;
	__u64 size;
	__u64 dur;
	__u64 hexval;
	double f64;
	__u32 error;
	__u32 sig;
	__u32 mode;
	__u32 flags;
	__u32 uid;
	__u32 gid;
	__u32 color;
	__u32 perms;
	__u32 zbits;
	__s32 level;
	__u32 idx;
	__s32 neg;
	float f32;
	__u32 arr32[3];
	struct nested in;
	__u8 ip_addr[16];
	__u8 ip_version;
	__u8 ep_version;
	__u16 ep_port;
	__u16 ep_proto;
	__u8 flag;
	__u8 pad0;
	__u8 ep_addr[16];
	__u8 arr[4];
	char name[16];
	__u32 pad1; // must stay 0: terminates the path string for openat(2)
};

_Static_assert(sizeof(struct fmtprobe_input) == 192,
	       "fmtprobe_input layout changed; update trigger.c");

struct event {
	gadget_timestamp timestamp_raw;
	struct gadget_process proc;

	gadget_errno error_raw;
	gadget_signal sig_raw;
	gadget_syscall syscall_raw;
	gadget_file_mode mode_raw;
	gadget_file_flags flags_raw;
	gadget_bytes size_raw;
	gadget_duration dur_raw;
	gadget_uid uid_raw;
	gadget_gid gid_raw;

	struct gadget_l3endpoint_t ip;
	struct gadget_l4endpoint_t ep;

	enum color color_raw;
	enum perms_set perms_raw;
	enum zbits_set zbits_raw;
	enum fmt_level level_raw;

	bool flag;
	float f32;
	double f64;
	__u8 arr[4];
	__u32 arr32[3];
	struct nested in;
	__s32 neg;
	__u64 hexval;
	char name[16];
	__u32 idx;

	gadget_kernel_stack kstack_raw;
};

GADGET_TRACER_MAP(events, 1024 * 256);

GADGET_TRACER(fmtprobe, events, event);

SEC("tracepoint/syscalls/sys_enter_openat")
int fmtprobe_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct fmtprobe_input in = {};
	const void *filename = (const void *)ctx->args[1];
	struct event *ev;

	if (bpf_probe_read_user(&in, sizeof(in), filename))
		return 0;
	if (in.magic != FMTPROBE_MAGIC)
		return 0;

	ev = gadget_reserve_buf(&events, sizeof(*ev));
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));

	gadget_process_populate(&ev->proc);

	ev->timestamp_raw = in.timestamp;
	ev->error_raw = in.error;
	ev->sig_raw = in.sig;
	ev->syscall_raw = in.syscall;
	ev->mode_raw = in.mode;
	ev->flags_raw = in.flags;
	ev->size_raw = in.size;
	ev->dur_raw = in.dur;
	ev->uid_raw = in.uid;
	ev->gid_raw = in.gid;

	__builtin_memcpy(ev->ip.addr_raw.v6, in.ip_addr, 16);
	ev->ip.version = in.ip_version;
	__builtin_memcpy(ev->ep.addr_raw.v6, in.ep_addr, 16);
	ev->ep.version = in.ep_version;
	ev->ep.port = in.ep_port;
	ev->ep.proto_raw = in.ep_proto;

	ev->color_raw = (enum color)in.color;
	ev->perms_raw = (enum perms_set)in.perms;
	ev->zbits_raw = (enum zbits_set)in.zbits;
	ev->level_raw = (enum fmt_level)in.level;

	// copy the raw byte so that values other than 0/1 reach user space
	__builtin_memcpy(&ev->flag, &in.flag, 1);
	ev->f32 = in.f32;
	ev->f64 = in.f64;
	__builtin_memcpy(ev->arr, in.arr, sizeof(ev->arr));
	__builtin_memcpy(ev->arr32, in.arr32, sizeof(ev->arr32));
	ev->in = in.in;
	ev->neg = in.neg;
	ev->hexval = in.hexval;
	__builtin_memcpy(ev->name, in.name, sizeof(ev->name));
	ev->idx = in.idx;

	ev->kstack_raw = gadget_get_kernel_stack(ctx);

	gadget_submit_buf(ctx, &events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
