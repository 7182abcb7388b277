/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own minimal stand-in for Inspektor Gadget's <gadget/types.h>,
 * written from gadgetrt's specification (not derived from IG's headers).
 *
 * IG's operators recognise fields by the *names* in a member's BTF typedef
 * chain (tags `type:<name>`), by struct names and by member names, so the
 * names and layouts below must stay exactly as IG expects them:
 * every typedef sits directly on the vmlinux.h __uNN type (chain
 * gadget_x -> __uNN -> <C int type>), and the structs have IG's member
 * names, order and sizes (gadget_process 64 bytes, endpoints 32 bytes).
 * Include after vmlinux.h.
 */
#ifndef GADGETRT_GADGET_TYPES_H
#define GADGETRT_GADGET_TYPES_H

/* formatter-tagged scalars */
typedef __u64 gadget_timestamp;    /* boot-time ns -> wall clock */
typedef __u32 gadget_errno;        /* errno name */
typedef __u32 gadget_signal;       /* signal name */
typedef __u64 gadget_syscall;      /* syscall name */
typedef __u32 gadget_file_mode;    /* -rwxr-xr-x */
typedef __u32 gadget_file_flags;   /* O_RDONLY|O_CLOEXEC */
typedef __u64 gadget_bytes;        /* 1.0 kB */
typedef __u64 gadget_duration;     /* 1.23ms */
typedef __u32 gadget_kernel_stack; /* stack id in ig_kstack */

/* process identity (type templates: comm, pid, tid, uid, gid, ...) */
typedef char gadget_comm;
typedef char gadget_pcomm;
typedef __u32 gadget_pid;
typedef __u32 gadget_tid;
typedef __u32 gadget_ppid;
typedef __u32 gadget_ptid;
typedef __u32 gadget_uid;
typedef __u32 gadget_gid;
typedef __u64 gadget_mntns_id;
typedef __u32 gadget_netns_id;

#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

struct gadget_creds {
	gadget_uid uid;
	gadget_gid gid;
};

struct gadget_parent {
	gadget_pcomm comm[TASK_COMM_LEN];
	gadget_ppid pid;
	gadget_ptid tid;
};

struct gadget_process {
	gadget_comm comm[TASK_COMM_LEN];
	gadget_pid pid;
	gadget_tid tid;
	gadget_mntns_id mntns_id;
	struct gadget_creds creds;
	struct gadget_parent parent;
};

/* L3/L4 endpoints: the formatter reads `version` (4 or 6) and `addr_raw`,
 * and for L4 also `port` and `proto_raw`. */
union gadget_ip_addr_t {
	__u8 v6[16];
	unsigned __int128 v6_raw;
	__u32 v4;
};

struct gadget_l3endpoint_t {
	union gadget_ip_addr_t addr_raw;
	__u8 version;
};

struct gadget_l4endpoint_t {
	union gadget_ip_addr_t addr_raw;
	__u16 port;
	__u16 proto_raw;
	__u8 version;
};

/* The socket enricher's value, as compiled into gadgets (gadgetrt spec
 * attach-enrich-containers.md 2.3(a): 8280 bytes). preserve_access_index:
 * every access is a CO-RE relocation that the loader resolves against the
 * runtime layout (cwd and exepath of 512 bytes, 1112 bytes in all); the
 * optional members must be guarded with bpf_core_field_exists() and sized
 * with bpf_core_field_size(). */
#define GADGET_SE_PATH_MAX 4096
struct gadget_socket_value {
	__u64 mntns;
	__u64 pid_tgid;
	__u64 uid_gid;
	char task[TASK_COMM_LEN];
	char ptask[TASK_COMM_LEN];
	__u64 sock;
	__u64 deletion_timestamp;
	__u32 ppid;
	__u32 ptid;
	char ipv6only;
	char optional_fields_start[0] __attribute__((aligned(8)));
	char cwd[GADGET_SE_PATH_MAX];
	char exepath[GADGET_SE_PATH_MAX];
} __attribute__((preserve_access_index));

#endif /* GADGETRT_GADGET_TYPES_H */
