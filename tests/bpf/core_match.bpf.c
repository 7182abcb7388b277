// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: CO-RE type-match relocations (kind 12,
// bpf_core_type_matches), which aya-obj 0.3 rejects and gadgetrt resolves
// itself. The tracepoint stores what each relocation evaluated to in
// `results` (.bss); the test triggers it with getppid().
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Matches the kernel's struct task_struct: a subset of members, same types
 * (behind a pointer only the name and kind count). */
struct task_struct___yes {
	pid_t pid;
	pid_t tgid;
	struct mm_struct *mm;
	struct task_struct___yes *real_parent;
};
/* Does not match: pid is an int in the kernel, not a long. */
struct task_struct___no {
	long pid;
};
/* Does not match: comm has 16 elements in the kernel. */
struct task_struct___badarray {
	char comm[8];
};
/* Does not match either, as with libbpf: clang's `char` is a signed INT in
 * BTF, the kernel's (pahole) has no encoding, and integers must agree on
 * signedness. */
struct task_struct___charsign {
	char comm[16];
};
/* What profile_blockio checks (the tracepoint's prototype changed in 5.11). */
typedef void (*btf_trace_block_rq_insert___new)(void *, struct request *);
typedef void (*btf_trace_block_rq_insert___old)(void *, struct request_queue *, struct request *);
/* Enums match by value names (not numbers) and size. */
enum pid_type___yes { PIDTYPE_TGID___yes = 7, PIDTYPE_PID___yes = 9 };
enum pid_type___no { PIDTYPE_NOT_THERE___no };
/* No type of that name in the kernel at all. */
struct gadgetrt_no_such_type___x {
	int a;
};

struct results {
	__u32 ran;
	__u32 task_yes;
	__u32 task_no;
	__u32 task_badarray;
	__u32 rq_new;
	__u32 rq_old;
	__u32 enum_yes;
	__u32 enum_no;
	__u32 no_such_type;
	__u32 pid_off_ok;
	__u32 task_charsign;
	__u32 pid_nr_ok;
};

struct results results;

SEC("tracepoint/syscalls/sys_enter_getppid")
int ig_core_match(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	results.task_yes = bpf_core_type_matches(struct task_struct___yes);
	results.task_no = bpf_core_type_matches(struct task_struct___no);
	results.task_badarray = bpf_core_type_matches(struct task_struct___badarray);
	results.rq_new = bpf_core_type_matches(btf_trace_block_rq_insert___new);
	results.rq_old = bpf_core_type_matches(btf_trace_block_rq_insert___old);
	results.enum_yes = bpf_core_type_matches(enum pid_type___yes);
	results.enum_no = bpf_core_type_matches(enum pid_type___no);
	results.no_such_type = bpf_core_type_matches(struct gadgetrt_no_such_type___x);
	/* An ordinary field relocation next to them still works. */
	results.pid_off_ok = BPF_CORE_READ(t, tgid) == (bpf_get_current_pid_tgid() >> 32);
	results.task_charsign = bpf_core_type_matches(struct task_struct___charsign);
	/* CO-RE access through a flexible array into its element (fsnotify's
	 * `pid->numbers[0].nr`), which aya-obj 0.3 rejects in the local spec. */
	results.pid_nr_ok = BPF_CORE_READ(t, thread_pid, numbers[0].nr) == (__u32)bpf_get_current_pid_tgid();
	results.ran = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
