// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: a socket filter (section socket1) emitting one `packets` event per
// IPv4 UDP datagram to `port`, with the netns id IG's dispatcher put in skb->cb[0]. Used to
// check that a selected container's network namespace gets its own raw socket.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gadget.h"

struct event {
	__u64 netns;
	__u32 pkt_type;
	__u16 dport;
	__u16 __pad;
};

const volatile __u16 port = 0;
GADGET_PARAM(port);

GADGET_TRACER_MAP(events, 1024 * 64);
GADGET_TRACER(packets, events, event);

SEC("socket1")
int ig_sock_ev(struct __sk_buff *skb)
{
	__u16 proto;
	__u8 ihl, l4;
	__u16 dport;
	struct event *ev;

	if (bpf_skb_load_bytes(skb, 12, &proto, 2) || proto != bpf_htons(0x0800))
		return 0;
	if (bpf_skb_load_bytes(skb, 14, &ihl, 1) || bpf_skb_load_bytes(skb, 14 + 9, &l4, 1) || l4 != 17)
		return 0;
	if (bpf_skb_load_bytes(skb, 14 + (ihl & 0xf) * 4 + 2, &dport, 2) || dport != bpf_htons(port))
		return 0;
	ev = gadget_reserve_buf(events, sizeof(*ev));
	if (!ev)
		return 0;
	ev->netns = skb->cb[0];
	ev->pkt_type = skb->pkt_type;
	ev->dport = bpf_ntohs(dport);
	ev->__pad = 0;
	gadget_submit_buf(skb, events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
