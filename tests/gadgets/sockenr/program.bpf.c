// SPDX-License-Identifier: Apache-2.0
//
// sockenr: a test gadget of gadgetrt's socket enricher, written like IG's
// networking gadgets (trace_dns, trace_sni): a socket filter that looks up
// each UDP/TCP packet to or from port `port` in `gadget_sockets` and emits
// the socket owner's process (pid, tid, comm, parent, creds, mntns), cwd and
// exepath (optional members, guarded like trace_dns), and whether the
// lookup hit.

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <gadget/buffer.h>
#include <gadget/macros.h>
#include <gadget/types.h>
#define GADGET_TYPE_NETWORKING
#include <gadget/sockets-map.h>

#define PATH_LEN 128

struct event {
	gadget_netns_id netns_id;
	__u16 port;
	__u8 ingress;
	__u8 found;
	struct gadget_process proc;
	__u32 cwd_size;
	__u32 exepath_size;
	char cwd[PATH_LEN];
	char exepath[PATH_LEN];
};

const volatile __u16 port = 0;
GADGET_PARAM(port);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(sockenr, events, event);

SEC("socket1")
int ig_sockenr(struct __sk_buff *skb)
{
	__u16 h_proto, sport, dport;
	__u8 ihl, l4;
	struct event *ev;

	if (bpf_skb_load_bytes(skb, 12, &h_proto, 2) || h_proto != bpf_htons(0x0800))
		return 0;
	if (bpf_skb_load_bytes(skb, 14, &ihl, 1) || bpf_skb_load_bytes(skb, 14 + 9, &l4, 1))
		return 0;
	if (l4 != 6 && l4 != 17)
		return 0;
	if (bpf_skb_load_bytes(skb, 14 + (ihl & 0xf) * 4, &sport, 2) ||
	    bpf_skb_load_bytes(skb, 14 + (ihl & 0xf) * 4 + 2, &dport, 2))
		return 0;
	if (sport != bpf_htons(port) && dport != bpf_htons(port))
		return 0;

	ev = gadget_reserve_buf(&events, sizeof(*ev));
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->netns_id = skb->cb[0];
	ev->port = port;
	ev->ingress = skb->pkt_type == 0;
	struct gadget_socket_value *v = gadget_socket_lookup(skb);
	if (v) {
		ev->found = 1;
		gadget_process_populate_from_socket(v, &ev->proc);
		if (bpf_core_field_exists(v->cwd)) {
			ev->cwd_size = bpf_core_field_size(v->cwd);
			bpf_probe_read_kernel_str(ev->cwd, PATH_LEN, v->cwd);
		}
		if (bpf_core_field_exists(v->exepath)) {
			ev->exepath_size = bpf_core_field_size(v->exepath);
			bpf_probe_read_kernel_str(ev->exepath, PATH_LEN, v->exepath);
		}
	}
	gadget_submit_buf(skb, &events, ev, sizeof(*ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
