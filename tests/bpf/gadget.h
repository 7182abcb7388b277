/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal re-implementation of Inspektor Gadget's BPF-side marker
 * conventions, for gadgetrt's test objects. Include after vmlinux.h.
 *
 * Every marker is an unused, non-static global of type `const void *`, so it
 * shows up in BTF as a global VAR (PTR -> CONST -> VOID) and as a .bss
 * symbol; the loader finds markers by their BTF VAR names.
 */
#ifndef GADGETRT_TEST_GADGET_H
#define GADGETRT_TEST_GADGET_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifndef GADGET_MAX_EVENT_SIZE
#define GADGET_MAX_EVENT_SIZE 10240
#endif

#define GADGET_INVALID_ID ((__u32)-1)

typedef __u64 gadget_mntns_id;
typedef __u32 gadget_pid;
typedef __u32 gadget_tid;
typedef __u64 gadget_timestamp;
typedef char gadget_comm;

/* ---- markers -------------------------------------------------------- */

/* Tracer: gadget_tracer_<name>___<map>___<struct>; the second global forces
 * `struct <struct>` into BTF even if the program only uses it via pointer. */
#define GADGET_TRACER(name, map, type)                                   \
	const void *gadget_tracer_##name##___##map##___##type            \
		__attribute__((unused));                                 \
	const struct type *__gadget_tracer_type_##name                   \
		__attribute__((unused));

/* A ring buffer of `size` bytes plus a per-CPU lost-samples counter. */
#define GADGET_TRACER_MAP(map, size)                                     \
	struct {                                                         \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                      \
		__uint(max_entries, size);                               \
	} map SEC(".maps");                                              \
	struct {                                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                 \
		__uint(max_entries, 1);                                  \
		__type(key, __u32);                                      \
		__type(value, __u64);                                    \
	} map##_lost_samples SEC(".maps");                               \
	const void *gadget_map_tracer_##map __attribute__((unused));

#define GADGET_PARAM(var) \
	const void *gadget_param_##var __attribute__((unused));

/* One iterator program per GADGET_ITER (IG allows up to three). */
#define GADGET_ITER(name, type, prog)                                    \
	const void *gadget_iter_##name##___##type##___##prog             \
		__attribute__((unused));                                 \
	const struct type *__gadget_iter_type_##name                     \
		__attribute__((unused));

#define GADGET_MAPITER(name, map) \
	const void *gadget_mapiter_##name##___##map __attribute__((unused));

/* Binds an iter/bpf_map_elem program to the map it iterates. */
#define GADGET_ITER_TARGET_MAP(prog, map) \
	const void *gadget_mapelem_iter_target_##prog##___##map __attribute__((unused));

/* ---- buffer helpers --------------------------------------------------- */

static __always_inline void gadget_bump_lost(void *lost_map)
{
	__u32 zero = 0;
	__u64 *cnt = bpf_map_lookup_elem(lost_map, &zero);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
}

/* Reserve a ring-buffer record; on failure bump <map>_lost_samples. */
#define gadget_reserve_buf(map, size)                                    \
	({                                                               \
		void *__buf = bpf_ringbuf_reserve(&map, size, 0);        \
		if (!__buf)                                              \
			gadget_bump_lost(&map##_lost_samples);           \
		__buf;                                                   \
	})

#define gadget_submit_buf(ctx, map, buf, size) \
	({ bpf_ringbuf_submit(buf, 0); 0; })

#define gadget_discard_buf(buf) bpf_ringbuf_discard(buf, 0)

/* Copy-out; on failure bump <map>_lost_samples. */
#define gadget_output_buf(ctx, map, buf, size)                           \
	({                                                               \
		long __ret = bpf_ringbuf_output(&map, buf, size, 0);     \
		if (__ret)                                               \
			gadget_bump_lost(&map##_lost_samples);           \
		__ret;                                                   \
	})

/* ---- mount-namespace filter ------------------------------------------- */

const volatile bool gadget_filter_by_mntns = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, gadget_mntns_id);
	__type(value, __u32);
} gadget_mntns_filter_map SEC(".maps");

static __always_inline bool gadget_should_discard_mntns_id(gadget_mntns_id id)
{
	return gadget_filter_by_mntns &&
	       !bpf_map_lookup_elem(&gadget_mntns_filter_map, &id);
}

static __always_inline gadget_mntns_id gadget_get_current_mntns_id(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

#endif /* GADGETRT_TEST_GADGET_H */
