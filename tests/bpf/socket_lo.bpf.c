// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: a socket filter (section socket1, as IG's network
// gadgets). gadgetrt attaches it like IG's networktracer: behind a
// dispatcher that stores the netns inode in skb->cb[0], on an AF_PACKET raw
// socket in the host network namespace. Counts UDP datagrams to `port`.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 port = 0;

__u64 hits;
__u32 netns;

SEC("socket1")
int ig_sock_udp(struct __sk_buff *skb)
{
	__u16 proto;
	__u8 ihl, l4;
	__u16 dport;

	if (bpf_skb_load_bytes(skb, 12, &proto, 2) || proto != bpf_htons(0x0800))
		return 0;
	if (bpf_skb_load_bytes(skb, 14, &ihl, 1) || bpf_skb_load_bytes(skb, 14 + 9, &l4, 1) || l4 != 17)
		return 0;
	if (bpf_skb_load_bytes(skb, 14 + (ihl & 0xf) * 4 + 2, &dport, 2) || dport != bpf_htons(port))
		return 0;
	__sync_fetch_and_add(&hits, 1);
	netns = skb->cb[0];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
