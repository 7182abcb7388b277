// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: a tc classifier (section classifier/ingress/<name>, as IG's
// tcpdump). gadgetrt attaches it like IG's tchandler: behind a dispatcher that stores the
// netns id in skb->cb[0], as a cls_bpf filter (direct action). Counts IPv4 UDP datagrams
// to `port` and records cb[0]; always lets packets through (TC_ACT_UNSPEC).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 port = 0;

__u64 hits;
__u32 netns;

SEC("classifier/ingress/ig_tc_count")
int ig_tc_count(struct __sk_buff *skb)
{
	__u16 proto;
	__u8 ihl, l4;
	__u16 dport;
	__u32 l3 = 14;

	/* lo has a zeroed Ethernet header too, so offsets are the same everywhere */
	if (bpf_skb_load_bytes(skb, 12, &proto, 2) || proto != bpf_htons(0x0800))
		return -1;
	if (bpf_skb_load_bytes(skb, l3, &ihl, 1) || bpf_skb_load_bytes(skb, l3 + 9, &l4, 1) || l4 != 17)
		return -1;
	if (bpf_skb_load_bytes(skb, l3 + (ihl & 0xf) * 4 + 2, &dport, 2) || dport != bpf_htons(port))
		return -1;
	__sync_fetch_and_add(&hits, 1);
	netns = skb->cb[0];
	return -1;
}

char LICENSE[] SEC("license") = "GPL";
