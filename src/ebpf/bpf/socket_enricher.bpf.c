// SPDX-License-Identifier: Apache-2.0
// gadgetrt's socket enricher: fills and maintains the process-wide
// `gadget_sockets` map that Inspektor Gadget's networking gadgets look up
// (key and value layouts: IG's include/gadget/sockets-map.h and types.h,
// value in IG's default runtime layout: cwd and exepath of 512 bytes each).
//
// Written for gadgetrt; compiled by build.rs (clang-19 -target bpf) and
// embedded in the library. It needs no vmlinux.h: the kernel structures it
// reads are declared below with only the members used, and every access is
// a CO-RE relocation resolved against the running kernel's BTF.
//
// Programs (userspace picks the set, see src/ebpf/socket_enricher.rs):
//  * always: ig_sk_scan (iter/task_file, every socket of every task; initial
//    scan, and on kernels without kprobes a periodic rescan) and ig_sk_sweep
//    (iter/bpf_map_elem over gadget_sockets: marks entries whose socket was
//    not seen by the last scan when `mark_unseen`, deletes entries released
//    more than 5 s ago, as IG's cleanup iterator).
//  * kernels with kprobes: IG's hooks (inet_bind/inet6_bind entry+return,
//    tcp_connect entry+return, udp_sendmsg/udpv6_sendmsg, inet_release/
//    inet6_release).
//  * kernels without kprobes: tp_btf/inet_sock_set_state (TCP listen and
//    close), tp_btf/net_dev_queue (UDP senders and TCP connects: the first
//    packet leaves in the sending task's context), and
//    tracepoint/syscalls/sys_{enter,exit}_bind (bound sockets).

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define TASK_COMM_LEN 16
#define SE_PATH_MAX 512
#define MAX_PATH_COMPONENTS 32
#define DELETE_AFTER_NS (5ULL * 1000 * 1000 * 1000)

// ---- kernel structures (only the members used; CO-RE relocated) ----------
struct ns_common { unsigned int inum; } __attribute__((preserve_access_index));
struct net { struct ns_common ns; } __attribute__((preserve_access_index));
typedef struct { struct net *net; } possible_net_t;
struct sock_common {
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_ipv6only : 1;
	possible_net_t skc_net;
} __attribute__((preserve_access_index));
struct sock {
	struct sock_common __sk_common;
	u16 sk_protocol;
} __attribute__((preserve_access_index));
struct inet_sock {
	struct sock sk;
	__be16 inet_sport;
} __attribute__((preserve_access_index));
struct socket { struct sock *sk; } __attribute__((preserve_access_index));
struct inode { unsigned short i_mode; } __attribute__((preserve_access_index));
struct qstr_raw { u64 hash_len; const unsigned char *name; };
struct dentry {
	struct dentry *d_parent;
	struct qstr_raw d_name;
} __attribute__((preserve_access_index));
struct vfsmount { struct dentry *mnt_root; } __attribute__((preserve_access_index));
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} __attribute__((preserve_access_index));
struct path { struct vfsmount *mnt; struct dentry *dentry; } __attribute__((preserve_access_index));
struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
} __attribute__((preserve_access_index));
struct fdtable { unsigned int max_fds; struct file **fd; } __attribute__((preserve_access_index));
struct files_struct { struct fdtable *fdt; } __attribute__((preserve_access_index));
struct fs_struct { struct path pwd; } __attribute__((preserve_access_index));
struct mm_struct { struct file *exe_file; } __attribute__((preserve_access_index));
struct mnt_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct nsproxy { struct mnt_namespace *mnt_ns; } __attribute__((preserve_access_index));
typedef struct { unsigned int val; } kuid_t;
typedef struct { unsigned int val; } kgid_t;
struct cred { kuid_t uid; kgid_t gid; } __attribute__((preserve_access_index));
struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	const struct cred *real_cred;
	char comm[TASK_COMM_LEN];
	struct fs_struct *fs;
	struct files_struct *files;
	struct mm_struct *mm;
	struct nsproxy *nsproxy;
} __attribute__((preserve_access_index));
struct sk_buff { struct sock *sk; } __attribute__((preserve_access_index));
struct seq_file;
struct bpf_iter_meta { struct seq_file *seq; u64 session_id; u64 seq_num; } __attribute__((preserve_access_index));
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	u32 fd;
	struct file *file;
} __attribute__((preserve_access_index));
struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
} __attribute__((preserve_access_index));

// ---- IG's map layout ----------------------------------------------------
struct gadget_socket_key {
	u32 netns;
	u16 family;
	u8 proto;
	u16 port;
};

// IG's runtime value layout (generateBTFSpec with the default
// socket-enricher-fields cwd=512,exepath=512): 1112 bytes.
struct gadget_socket_value {
	u64 mntns;
	u64 pid_tgid;
	u64 uid_gid;
	char task[TASK_COMM_LEN];
	char ptask[TASK_COMM_LEN];
	u64 sock;
	u64 deletion_timestamp;
	u32 ppid;
	u32 ptid;
	char ipv6only;
	char cwd[SE_PATH_MAX] __attribute__((aligned(8)));
	char exepath[SE_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct gadget_socket_key);
	__type(value, struct gadget_socket_value);
} gadget_sockets SEC(".maps");

// Sockets seen by the current scan generation (struct sock address ->
// generation), for mark-and-sweep on kernels without kprobes.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, u64);
} ig_sk_seen SEC(".maps");

// [0]: current scan generation (written by userspace before each scan).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} ig_sk_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gadget_socket_value);
} ig_sk_tmp SEC(".maps");

struct path_scratch {
	struct dentry *comps[MAX_PATH_COMPONENTS];
	char buf[2 * SE_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct path_scratch);
} ig_sk_path SEC(".maps");

// kprobe path: bind/connect argument between entry and return.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u64);
	__type(value, u64);
} ig_sk_start SEC(".maps");

// [0]: sockets not recorded because gadget_sockets was full (or another
// update error than "exists").
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} ig_sk_drops SEC(".maps");

static __always_inline void put_socket(struct gadget_socket_key *key, struct gadget_socket_value *v, u64 flags)
{
	long err = bpf_map_update_elem(&gadget_sockets, key, v, flags);
	if (err && err != -17 /* EEXIST */) {
		u32 zero = 0;
		u64 *n = bpf_map_lookup_elem(&ig_sk_drops, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
}

// Set by userspace: mark entries not seen by the last scan as released.
const volatile bool mark_unseen = 0;

static __always_inline u64 current_gen(void)
{
	u32 zero = 0;
	u64 *g = bpf_map_lookup_elem(&ig_sk_gen, &zero);
	return g ? *g : 0;
}

static __always_inline void note_seen(struct sock *sk)
{
	u64 addr = (u64)sk;
	u64 gen = current_gen();
	bpf_map_update_elem(&ig_sk_seen, &addr, &gen, BPF_ANY);
}

static __always_inline int make_key(struct gadget_socket_key *key, struct sock *sk)
{
	struct inet_sock *inet = (struct inet_sock *)sk;
	__builtin_memset(key, 0, sizeof(*key));
	key->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	key->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	key->proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	key->port = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	if (key->family != AF_INET && key->family != AF_INET6)
		return -1;
	if (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP)
		return -1;
	return 0;
}

struct walk_ctx {
	struct path_scratch *s;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	u32 n;
	u32 off;
};

// One step up the dentry tree (bpf_loop callback: verified once).
static long walk_up(u32 i, struct walk_ctx *c)
{
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct dentry *dentry = c->dentry;
	struct mount *mnt = c->mnt;
	struct dentry *root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == root || dentry == parent) {
		if (dentry != root)
			return 1;
		struct mount *mparent = BPF_CORE_READ(mnt, mnt_parent);
		if (mparent == mnt || !mparent)
			return 1;
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = mparent;
		c->vfsmnt = (struct vfsmount *)((char *)mparent + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (c->n >= MAX_PATH_COMPONENTS)
		return 1;
	c->s->comps[c->n & (MAX_PATH_COMPONENTS - 1)] = dentry;
	c->n++;
	c->dentry = parent;
	return 0;
}

// Appends component n-1-i ("/name").
static long write_down(u32 i, struct walk_ctx *c)
{
	if (i >= c->n)
		return 1;
	struct dentry *d = c->s->comps[(c->n - 1 - i) & (MAX_PATH_COMPONENTS - 1)];
	struct qstr_raw q;
	BPF_CORE_READ_INTO(&q, d, d_name);
	u32 len = q.hash_len >> 32;
	u32 off = c->off;
	if (off + 1 + len >= SE_PATH_MAX)
		return 1;
	c->s->buf[off & (SE_PATH_MAX - 1)] = '/';
	off++;
	bpf_probe_read_kernel(&c->s->buf[off & (SE_PATH_MAX - 1)], len & (SE_PATH_MAX - 1), q.name);
	c->off = off + len;
	return 0;
}

// Writes the path of `p` (from the root of its mount tree) into dst (512).
static __always_inline void fill_path(char *dst, struct path *p)
{
	u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&ig_sk_path, &zero);
	if (!s || !p)
		return;
	struct walk_ctx c = {};
	c.s = s;
	c.dentry = BPF_CORE_READ(p, dentry);
	c.vfsmnt = BPF_CORE_READ(p, mnt);
	if (!c.dentry || !c.vfsmnt)
		return;
	c.mnt = (struct mount *)((char *)c.vfsmnt - bpf_core_field_offset(struct mount, mnt));
	bpf_loop(2 * MAX_PATH_COMPONENTS, walk_up, &c, 0);
	bpf_loop(MAX_PATH_COMPONENTS, write_down, &c, 0);
	u32 off = c.off;
	if (off == 0) {
		s->buf[0] = '/';
		off = 1;
	}
	s->buf[off & (SE_PATH_MAX - 1)] = 0;
	bpf_probe_read_kernel_str(dst, SE_PATH_MAX, s->buf);
}

static const struct gadget_socket_value empty_value = {};

// Fills the scratch value from `task` (the socket's owner).
static __always_inline struct gadget_socket_value *
fill_value(struct task_struct *task, struct sock *sk, u16 family, bool from_iter)
{
	u32 zero = 0;
	if (bpf_map_update_elem(&ig_sk_tmp, &zero, &empty_value, BPF_ANY))
		return 0;
	struct gadget_socket_value *v = bpf_map_lookup_elem(&ig_sk_tmp, &zero);
	if (!v)
		return 0;
	v->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	if (from_iter) {
		v->pid_tgid = ((u64)BPF_CORE_READ(task, tgid)) << 32 | (u32)BPF_CORE_READ(task, pid);
		v->uid_gid = ((u64)BPF_CORE_READ(task, real_cred, gid.val)) << 32 |
			     BPF_CORE_READ(task, real_cred, uid.val);
	} else {
		v->pid_tgid = bpf_get_current_pid_tgid();
		v->uid_gid = bpf_get_current_uid_gid();
	}
	BPF_CORE_READ_STR_INTO(&v->task, task, comm);
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	if (parent) {
		BPF_CORE_READ_STR_INTO(&v->ptask, parent, comm);
		v->ppid = BPF_CORE_READ(parent, tgid);
		v->ptid = BPF_CORE_READ(parent, pid);
	}
	v->sock = (u64)sk;
	if (family == AF_INET6)
		v->ipv6only = BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_ipv6only);
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	if (fs)
		fill_path(v->cwd, &fs->pwd);
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe)
		fill_path(v->exepath, &exe->f_path);
	return v;
}

// IG's insert rule for the current task: skip when a live entry for this
// very socket exists; otherwise (absent, released, or another socket that
// took the port over) write it.
static __always_inline void insert_current(struct sock *sk)
{
	struct gadget_socket_key key;
	if (!sk || make_key(&key, sk))
		return;
	note_seen(sk);
	struct gadget_socket_value *old = bpf_map_lookup_elem(&gadget_sockets, &key);
	if (old && old->deletion_timestamp == 0 && old->sock == (u64)sk)
		return;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct gadget_socket_value *v = fill_value(task, sk, key.family, false);
	if (!v)
		return;
	put_socket(&key, v, BPF_ANY);
}

static __always_inline void remove_sock(struct sock *sk)
{
	struct gadget_socket_key key;
	if (!sk || make_key(&key, sk))
		return;
	struct gadget_socket_value *v = bpf_map_lookup_elem(&gadget_sockets, &key);
	if (!v || v->sock != (u64)sk)
		return;
	if (v->deletion_timestamp == 0)
		v->deletion_timestamp = bpf_ktime_get_ns();
}

// ---- scan and sweep (all kernels) ---------------------------------------

SEC("iter/task_file")
int ig_sk_scan(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;

	// Print something now and then, as IG does, so that long scans do not
	// end with EAGAIN; userspace ignores the output.
	if (ctx->meta->seq_num % 100000 == 0)
		bpf_seq_write(seq, ".", 1);
	if (!file || !task)
		return 0;
	struct socket *sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct gadget_socket_key key;
	if (!sk || make_key(&key, sk))
		return 0;
	note_seen(sk);
	struct gadget_socket_value *old = bpf_map_lookup_elem(&gadget_sockets, &key);
	if (old) {
		if (old->sock == (u64)sk && old->deletion_timestamp == 0)
			return 0;
		// IG: an existing entry is only replaced by a listener (passive
		// sockets win over accepted children sharing the port).
		if (old->deletion_timestamp == 0 && BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN)
			return 0;
	}
	struct gadget_socket_value *v = fill_value(task, sk, key.family, true);
	if (!v)
		return 0;
	put_socket(&key, v, old ? BPF_ANY : BPF_NOEXIST);
	return 0;
}

SEC("iter/bpf_map_elem")
int ig_sk_sweep(struct bpf_iter__bpf_map_elem *ctx)
{
	struct gadget_socket_key *k = ctx->key;
	struct gadget_socket_value *v = ctx->value;
	if (ctx->meta->seq_num % 100000 == 0)
		bpf_seq_write(ctx->meta->seq, ".", 1);
	if (!k || !v)
		return 0;
	u64 now = bpf_ktime_get_ns();
	if (v->deletion_timestamp != 0) {
		if (v->deletion_timestamp + DELETE_AFTER_NS < now) {
			struct gadget_socket_key key;
			__builtin_memcpy(&key, k, sizeof(key));
			u64 addr = v->sock;
			bpf_map_delete_elem(&gadget_sockets, &key);
			bpf_map_delete_elem(&ig_sk_seen, &addr);
		}
		return 0;
	}
	if (mark_unseen) {
		u64 addr = v->sock;
		u64 *gen = bpf_map_lookup_elem(&ig_sk_seen, &addr);
		if (!gen || *gen != current_gen())
			v->deletion_timestamp = now;
	}
	return 0;
}

// ---- kernels without kprobes ---------------------------------------------

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ig_sk_state, struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_LISTEN) {
		struct inet_sock *inet = (struct inet_sock *)sk;
		if (BPF_CORE_READ(inet, inet_sport) != 0)
			insert_current(sk);
	} else if (newstate == TCP_CLOSE) {
		remove_sock(sk);
	}
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(ig_sk_xmit, struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk)
		return 0;
	u8 proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (proto == IPPROTO_UDP) {
		insert_current(sk);
	} else if (proto == IPPROTO_TCP) {
		// The SYN of connect() leaves in the connecting task's context.
		if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
			insert_current(sk);
	}
	return 0;
}

// Tracepoint formats (stable ABI): 8 bytes of common fields, the syscall
// number, then the arguments / return value as longs.
struct sys_enter_args { u64 common; long nr; unsigned long args[6]; };
struct sys_exit_args { u64 common; long nr; long ret; };

SEC("tracepoint/syscalls/sys_enter_bind")
int ig_sk_bind_e(struct sys_enter_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 fd = ctx->args[0];
	bpf_map_update_elem(&ig_sk_start, &id, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int ig_sk_bind_x(struct sys_exit_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 *fdp = bpf_map_lookup_elem(&ig_sk_start, &id);
	if (!fdp)
		return 0;
	u64 fd = *fdp;
	bpf_map_delete_elem(&ig_sk_start, &id);
	if (ctx->ret != 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return 0;
	insert_current(BPF_CORE_READ(sock, sk));
	return 0;
}

// ---- kernels with kprobes (IG's hooks) -------------------------------------

static __always_inline int bind_entry(struct socket *sock)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 p = (u64)sock;
	bpf_map_update_elem(&ig_sk_start, &id, &p, BPF_ANY);
	return 0;
}

static __always_inline int bind_exit(int ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 *p = bpf_map_lookup_elem(&ig_sk_start, &id);
	if (!p)
		return 0;
	struct socket *sock = (struct socket *)*p;
	bpf_map_delete_elem(&ig_sk_start, &id);
	if (ret == 0)
		insert_current(BPF_CORE_READ(sock, sk));
	return 0;
}

SEC("kprobe/inet_bind")
int BPF_KPROBE(ig_sk_bind4_e, struct socket *sock) { return bind_entry(sock); }
SEC("kretprobe/inet_bind")
int BPF_KRETPROBE(ig_sk_bind4_x, int ret) { return bind_exit(ret); }
SEC("kprobe/inet6_bind")
int BPF_KPROBE(ig_sk_bind6_e, struct socket *sock) { return bind_entry(sock); }
SEC("kretprobe/inet6_bind")
int BPF_KRETPROBE(ig_sk_bind6_x, int ret) { return bind_exit(ret); }

SEC("kprobe/tcp_connect")
int BPF_KPROBE(ig_sk_conn_e, struct sock *sk)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 p = (u64)sk;
	bpf_map_update_elem(&ig_sk_start, &id, &p, BPF_ANY);
	insert_current(sk);
	return 0;
}

SEC("kretprobe/tcp_connect")
int BPF_KRETPROBE(ig_sk_conn_x, int ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 *p = bpf_map_lookup_elem(&ig_sk_start, &id);
	if (!p)
		return 0;
	struct sock *sk = (struct sock *)*p;
	bpf_map_delete_elem(&ig_sk_start, &id);
	if (ret)
		remove_sock(sk);
	return 0;
}

SEC("kprobe/udp_sendmsg")
int BPF_KPROBE(ig_sk_udp4, struct sock *sk) { insert_current(sk); return 0; }
SEC("kprobe/udpv6_sendmsg")
int BPF_KPROBE(ig_sk_udp6, struct sock *sk) { insert_current(sk); return 0; }

static __always_inline int release(struct socket *sock, u16 family)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);
	// inet6_release() calls inet_release(): act once, in the right probe.
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != family)
		return 0;
	remove_sock(sk);
	return 0;
}

SEC("kprobe/inet_release")
int BPF_KPROBE(ig_sk_rel4, struct socket *sock) { return release(sock, AF_INET); }
SEC("kprobe/inet6_release")
int BPF_KPROBE(ig_sk_rel6, struct socket *sock) { return release(sock, AF_INET6); }

char LICENSE[] SEC("license") = "GPL";
