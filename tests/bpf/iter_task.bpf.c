// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: task iterator.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "gadget.h"

struct task_entry {
	gadget_pid pid;
	__u32 tgid;
	gadget_comm comm[16];
};

GADGET_ITER(tasks, task_entry, ig_iter_task);

SEC("iter/task")
int ig_iter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_entry e = {};

	if (!task)
		return 0;
	e.pid = task->pid;
	e.tgid = task->tgid;
	__builtin_memcpy(e.comm, task->comm, sizeof(e.comm));
	bpf_seq_write(seq, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
