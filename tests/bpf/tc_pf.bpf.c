// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: a tc classifier with two packet filters (the `pf` and `pf-second`
// params, as IG's tcpdump has `pf`). Counts every packet, and the packets each filter passes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "include/gadget/packetfilter.h"

GADGET_PF()
GADGET_PF(second)

__u64 seen;
__u64 hits;
__u64 hits_second;

SEC("classifier/ingress/ig_tc_pf")
int ig_tc_pf(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	__sync_fetch_and_add(&seen, 1);
	if (gadget_pf_matches_named(, skb, data, data_end))
		__sync_fetch_and_add(&hits, 1);
	if (gadget_pf_matches_named(second, skb, data, data_end))
		__sync_fetch_and_add(&hits_second, 1);
	return -1;
}

char LICENSE[] SEC("license") = "GPL";
