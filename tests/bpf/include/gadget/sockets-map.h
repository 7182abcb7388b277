/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own minimal stand-in for Inspektor Gadget's
 * <gadget/sockets-map.h>, written from gadgetrt's specification
 * (attach-enrich-containers.md 2.2-2.4): the `gadget_sockets` map that the
 * socket enricher fills, its 12-byte key (zeroed padding), and
 * gadget_socket_lookup() for socket filters (GADGET_TYPE_NETWORKING):
 * netns from skb->cb[0] (set by the dispatcher), IPv4/IPv6 without
 * extension headers, destination port for ingress (PACKET_HOST) and source
 * port otherwise, with the dual-stack retry of IG.
 * Include after vmlinux.h.
 */
#ifndef GADGETRT_GADGET_SOCKETS_MAP_H
#define GADGETRT_GADGET_SOCKETS_MAP_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <gadget/types.h>

struct gadget_socket_key {
	__u32 netns;
	__u16 family;
	__u8 proto;
	__u16 port;
};

#define GADGET_MAX_SOCKETS 16384
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GADGET_MAX_SOCKETS);
	__type(key, struct gadget_socket_key);
	__type(value, struct gadget_socket_value);
} gadget_sockets SEC(".maps");

#ifdef GADGET_TYPE_NETWORKING
static __always_inline struct gadget_socket_value *
gadget_socket_lookup_with_direction(const struct __sk_buff *skb, __u8 is_ingress)
{
	struct gadget_socket_key key = { 0 };
	struct gadget_socket_value *ret;
	__u16 h_proto, port;
	__u8 b;
	int l4;

	key.netns = skb->cb[0];
	if (bpf_skb_load_bytes(skb, 12, &h_proto, 2))
		return 0;
	if (h_proto == bpf_htons(0x0800)) {
		key.family = 2;
		if (bpf_skb_load_bytes(skb, 14 + 9, &key.proto, 1) || bpf_skb_load_bytes(skb, 14, &b, 1))
			return 0;
		l4 = 14 + (b & 0xf) * 4;
	} else if (h_proto == bpf_htons(0x86DD)) {
		key.family = 10;
		if (bpf_skb_load_bytes(skb, 14 + 6, &key.proto, 1))
			return 0;
		l4 = 14 + 40;
	} else {
		return 0;
	}
	if (key.proto != 6 && key.proto != 17)
		return 0;
	if (bpf_skb_load_bytes(skb, l4 + (is_ingress ? 2 : 0), &port, 2))
		return 0;
	key.port = bpf_ntohs(port);
	ret = bpf_map_lookup_elem(&gadget_sockets, &key);
	if (ret)
		return ret;
	if (key.family == 2) {
		key.family = 10;
		ret = bpf_map_lookup_elem(&gadget_sockets, &key);
		if (ret && ret->ipv6only == 0)
			return ret;
	}
	return 0;
}

static __always_inline struct gadget_socket_value *
gadget_socket_lookup(const struct __sk_buff *skb)
{
	return gadget_socket_lookup_with_direction(skb, skb->pkt_type == 0 /* PACKET_HOST */);
}
#endif

static __always_inline void
gadget_process_populate_from_socket(const struct gadget_socket_value *v, struct gadget_process *p)
{
	if (!v)
		return;
	__builtin_memcpy(p->comm, v->task, sizeof(p->comm));
	p->pid = v->pid_tgid >> 32;
	p->tid = v->pid_tgid;
	p->mntns_id = v->mntns;
	p->creds.uid = v->uid_gid;
	p->creds.gid = v->uid_gid >> 32;
	__builtin_memcpy(p->parent.comm, v->ptask, sizeof(p->parent.comm));
	p->parent.pid = v->ppid;
	p->parent.tid = bpf_core_field_exists(v->ptid) ? v->ptid : 0;
}

#endif /* GADGETRT_GADGET_SOCKETS_MAP_H */
