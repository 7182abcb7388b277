// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: `.kconfig` externs (aya-obj 0.3 has no extern
// support; gadgetrt fills them like libbpf). The tracepoint copies the
// values into `results` (.bss); the test triggers it with getppid().
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig;		/* =y */
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak; /* y or m */
extern char CONFIG_HZ_PERIODIC_X_GADGETRT __kconfig __weak; /* not in any config */
extern int CONFIG_HZ __kconfig __weak;			/* a number */
extern char CONFIG_LOCALVERSION[64] __kconfig __weak;	/* a string */

struct results {
	__u32 ran;
	__u32 kernel_version;
	__u32 syscall_wrapper;
	__u32 bpf_syscall;
	__u32 bpf_jit;
	__u32 missing;
	__u32 hz;
	char localversion[64];
	__u32 old_kernel;
};

struct results results;

SEC("tracepoint/syscalls/sys_enter_getppid")
int ig_kconfig(void *ctx)
{
	results.kernel_version = LINUX_KERNEL_VERSION;
	results.syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	results.bpf_syscall = CONFIG_BPF_SYSCALL;
	results.bpf_jit = CONFIG_BPF_JIT;
	results.missing = CONFIG_HZ_PERIODIC_X_GADGETRT;
	results.hz = CONFIG_HZ;
	__builtin_memcpy(results.localversion, CONFIG_LOCALVERSION, sizeof(results.localversion));
	/* As in trace_capabilities: dead code on new kernels (read-only map). */
	if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 1, 0))
		results.old_kernel = 1;
	results.ran = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
