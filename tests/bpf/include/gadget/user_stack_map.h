/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own stand-in for Inspektor Gadget's <gadget/user_stack_map.h>,
 * written from gadgetrt's specification (shared/spec/operators.md §4.2), not
 * derived from IG's header.
 *
 * What the `ustack` operator relies on, and therefore must keep IG's names:
 *  - a member of type `struct gadget_user_stack` (its BTF type name gives the
 *    field the tag `type:gadget_user_stack`), with the member names below;
 *    the layout (order, sizes) is IG's as well;
 *  - the STACK_TRACE map `ig_ustack` (127 x u64 per stack);
 *  - the HASH map `ig_build_id` (127 x struct bpf_stack_build_id per stack),
 *    sized at load time by the `ig_build_id_max_entries` global;
 *  - the params `collect_ustack` and `collect_build_id`.
 *
 * Include after vmlinux.h and a header defining GADGET_PARAM (tests/bpf/gadget.h
 * or <gadget/macros.h>). Call gadget_get_user_stack(ctx, &ev->ustack) from a
 * program whose type may call bpf_get_stackid()/bpf_get_stack() (tracepoint,
 * kprobe/uprobe, perf_event, raw tracepoint).
 */
#ifndef GADGETRT_GADGET_USER_STACK_MAP_H
#define GADGETRT_GADGET_USER_STACK_MAP_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifndef GADGET_PARAM
#define GADGET_PARAM(var) \
	const void *gadget_param_##var __attribute__((unused));
#endif

/* ---- the event member ------------------------------------------------ */

/* All members are 0 when user stacks are not collected (inode 0 tells the
 * operator to leave the stack strings empty). */
struct gadget_user_stack {
	/* The executable: device (kernel s_dev split into major/minor), inode
	 * number and modification time; userspace compares them with a stat of
	 * /proc/<pid>/exe before trusting its symbol table. */
	__u32 major;
	__u32 minor;
	__u64 inode;
	__u64 mtime_sec;
	__u32 mtime_nsec;
	/* Cache key of the runtime base address: a hash of (mm, start_code,
	 * start_stack), which changes on every execve. */
	__u32 base_addr_hash;
	/* Key into ig_ustack (and ig_build_id). */
	__u32 stack_id;
	/* Thread group id and thread id / pid-namespace inode as seen from the
	 * initial pid namespace (level 0) and from level 1 (0 when the task's
	 * pid has no level 1). */
	__u32 tgid_level0;
	__u32 pid_level0;
	__u32 pidns_level0;
	__u32 pid_level1;
	__u32 pidns_level1;
	/* OpenTelemetry profiler correlation; always 0 here. */
	__u64 otel_correlation_id;
	/* bpf_ktime_get_boot_ns() when the stack was taken. */
	__u64 boot_timestamp;
};

typedef struct gadget_user_stack gadget_user_stack;

/* ---- params ------------------------------------------------------------ */

const volatile bool collect_ustack = false;
GADGET_PARAM(collect_ustack);

const volatile bool collect_build_id = false;
GADGET_PARAM(collect_build_id);

/* max_entries of ig_build_id (the loader applies `<map>_max_entries`). */
const volatile __u32 ig_build_id_max_entries = 1024;
GADGET_PARAM(ig_build_id_max_entries);

/* ---- maps ---------------------------------------------------------------- */

#define GADGET_USER_MAX_STACK_DEPTH 127
#define GADGET_USER_STACK_MAP_MAX_ENTRIES 10000
#define GADGET_BUILD_ID_VALUE_SIZE \
	(GADGET_USER_MAX_STACK_DEPTH * sizeof(struct bpf_stack_build_id))

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GADGET_USER_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, GADGET_USER_STACK_MAP_MAX_ENTRIES);
} ig_ustack SEC(".maps");

/* Sized by ig_build_id_max_entries when the object is loaded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GADGET_BUILD_ID_VALUE_SIZE);
	__uint(max_entries, 0);
} ig_build_id SEC(".maps");

/* One build-id stack of scratch space per CPU (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GADGET_BUILD_ID_VALUE_SIZE);
} gadget_build_id_scratch SEC(".maps");

/* ---- helpers --------------------------------------------------------------- */

/* struct inode's modification time, whose shape changed over kernel
 * versions; each flavour below is matched by CO-RE against the running
 * kernel's BTF (the ___suffix is ignored for matching). */
struct inode___grt_mtime_split { /* v6.11+: two scalar members */
	time64_t i_mtime_sec;
	__u32 i_mtime_nsec;
};
struct inode___grt_mtime_private { /* v6.7 .. v6.10 */
	struct timespec64 __i_mtime;
};
struct inode___grt_mtime_ts64 { /* v4.18 .. v6.6 */
	struct timespec64 i_mtime;
};

static __always_inline void gadget_read_inode_mtime(struct inode *inode,
						    __u64 *sec, __u32 *nsec)
{
	struct inode___grt_mtime_split *a = (void *)inode;
	struct inode___grt_mtime_private *b = (void *)inode;
	struct inode___grt_mtime_ts64 *c = (void *)inode;

	*sec = 0;
	*nsec = 0;
	if (bpf_core_field_exists(a->i_mtime_sec) &&
	    bpf_core_field_exists(a->i_mtime_nsec)) {
		*sec = BPF_CORE_READ(a, i_mtime_sec);
		*nsec = BPF_CORE_READ(a, i_mtime_nsec);
	} else if (bpf_core_field_exists(b->__i_mtime)) {
		*sec = BPF_CORE_READ(b, __i_mtime.tv_sec);
		*nsec = BPF_CORE_READ(b, __i_mtime.tv_nsec);
	} else if (bpf_core_field_exists(c->i_mtime)) {
		*sec = BPF_CORE_READ(c, i_mtime.tv_sec);
		*nsec = BPF_CORE_READ(c, i_mtime.tv_nsec);
	}
}

/* 32-bit FNV-1a over the little-endian bytes of v, continuing from h. */
static __always_inline __u32 gadget_fnv1a32_u64(__u32 h, __u64 v)
{
#pragma unroll
	for (int i = 0; i < 8; i++) {
		h ^= (__u32)((v >> (8 * i)) & 0xff);
		h *= 16777619u;
	}
	return h;
}

static __always_inline __u32 gadget_user_base_addr_hash(struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u32 h = 2166136261u;

	h = gadget_fnv1a32_u64(h, (__u64)(unsigned long)mm);
	h = gadget_fnv1a32_u64(h, (__u64)BPF_CORE_READ(mm, start_code));
	h = gadget_fnv1a32_u64(h, (__u64)BPF_CORE_READ(mm, start_stack));
	return h;
}

/* Stores the build-id form of the current user stack under stack_id, the
 * first time this stack id is seen. */
static __always_inline void gadget_store_user_build_ids(void *ctx, __u32 stack_id)
{
	__u32 zero = 0;
	void *buf;
	long n;

	if (bpf_map_lookup_elem(&ig_build_id, &stack_id))
		return;
	buf = bpf_map_lookup_elem(&gadget_build_id_scratch, &zero);
	if (!buf)
		return;
	/* The helper zero-fills what it does not write (status EMPTY). */
	n = bpf_get_stack(ctx, buf, GADGET_BUILD_ID_VALUE_SIZE,
			  BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	if (n < 0)
		return;
	bpf_map_update_elem(&ig_build_id, &stack_id, buf, BPF_NOEXIST);
}

/* Fills *ustack for the current task, or zeroes it when collect_ustack is
 * off. */
static __always_inline void gadget_get_user_stack(void *ctx,
						  struct gadget_user_stack *ustack)
{
	struct task_struct *task;
	struct inode *exe;
	struct pid *tpid;
	struct upid *up;
	unsigned int level;
	dev_t dev;
	long id;

	__builtin_memset(ustack, 0, sizeof(*ustack));
	if (!collect_ustack)
		return;

	id = bpf_get_stackid(ctx, &ig_ustack, BPF_F_USER_STACK);
	ustack->stack_id = (__u32)id;
	ustack->boot_timestamp = bpf_ktime_get_boot_ns();

	task = (struct task_struct *)bpf_get_current_task();
	ustack->tgid_level0 = BPF_CORE_READ(task, tgid);

	/* The thread's pid numbers per namespace level: struct pid ends with
	 * a flexible array of struct upid, level 0 first. */
	tpid = BPF_CORE_READ(task, thread_pid);
	level = BPF_CORE_READ(tpid, level);
	up = (struct upid *)((char *)tpid +
			     bpf_core_field_offset(struct pid, numbers));
	ustack->pid_level0 = BPF_CORE_READ(up, nr);
	ustack->pidns_level0 = BPF_CORE_READ(up, ns, ns.inum);
	if (level >= 1) {
		up = (struct upid *)((char *)up + bpf_core_type_size(struct upid));
		ustack->pid_level1 = BPF_CORE_READ(up, nr);
		ustack->pidns_level1 = BPF_CORE_READ(up, ns, ns.inum);
	}

	/* The executable. The kernel's dev_t keeps the major in the top 12
	 * bits and the minor in the low 20. */
	exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
	dev = BPF_CORE_READ(exe, i_sb, s_dev);
	ustack->major = (__u32)dev >> 20;
	ustack->minor = (__u32)dev & 0xfffff;
	ustack->inode = BPF_CORE_READ(exe, i_ino);
	gadget_read_inode_mtime(exe, &ustack->mtime_sec, &ustack->mtime_nsec);

	ustack->base_addr_hash = gadget_user_base_addr_hash(task);

	if (collect_build_id && id >= 0)
		gadget_store_user_build_ids(ctx, (__u32)id);
}

#endif /* GADGETRT_GADGET_USER_STACK_MAP_H */
