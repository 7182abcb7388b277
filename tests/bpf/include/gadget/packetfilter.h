/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own stand-in for Inspektor Gadget's <gadget/packetfilter.h> contract:
 * GADGET_PF(name) defines the never-inlined function gadget_pf_<name>(skb, skb, skb, data,
 * data_end). Its body accepts every non-empty packet; the host inserts the eBPF form of the
 * `pf` / `pf-<name>` param's tcpdump expression at its start (reading the packet between data
 * and data_end), and the body then returns that filter's verdict. The three skb arguments
 * only keep r1-r3 free for the inserted code.
 */
#ifndef GADGETRT_GADGET_PACKETFILTER_H
#define GADGETRT_GADGET_PACKETFILTER_H

#define GADGET_PF(name)                                                        \
	static __attribute__((noinline)) bool gadget_pf_##name(                \
		void *skb1, void *skb2, void *skb3, void *data, void *data_end) \
	{                                                                      \
		return data != data_end && skb1 == skb2 && skb2 == skb3;       \
	}

/* Whether the packet between data and data_end passes the filter `name`. */
#define gadget_pf_matches_named(name, skb, data, data_end) \
	gadget_pf_##name(skb, skb, skb, data, data_end)

#endif
