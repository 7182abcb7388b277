/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own minimal stand-in for Inspektor Gadget's <gadget/common.h>:
 * gadget_process_populate() fills a struct gadget_process for the current
 * task. Include after vmlinux.h.
 */
#ifndef GADGETRT_GADGET_COMMON_H
#define GADGETRT_GADGET_COMMON_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <gadget/types.h>

static __always_inline gadget_mntns_id gadget_get_current_mntns_id(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

/* comm, pid (tgid), tid, mount namespace, uid/gid and the real parent's
 * comm, pid (tgid) and tid. */
static __always_inline void gadget_process_populate(struct gadget_process *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	bpf_get_current_comm(p->comm, sizeof(p->comm));
	p->pid = pid_tgid >> 32;
	p->tid = (__u32)pid_tgid;
	p->mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	p->creds.uid = (__u32)uid_gid;
	p->creds.gid = uid_gid >> 32;
	if (parent) {
		bpf_core_read(p->parent.comm, sizeof(p->parent.comm),
			      &parent->comm);
		p->parent.pid = BPF_CORE_READ(parent, tgid);
		p->parent.tid = BPF_CORE_READ(parent, pid);
	}
}

#endif /* GADGETRT_GADGET_COMMON_H */
