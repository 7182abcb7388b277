// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: plain hash + hash-of-maps, like IG's "map" test.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "gadget.h"

struct test_key {
	__u32 a;
	__u32 b;
	__u8 c;
	__u8 pad[3];
};

struct inner_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner_map_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct test_key);
	__type(value, __u32);
} test_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, struct test_key);
	__array(values, struct inner_map);
} map_of_map SEC(".maps");

/* map iterator: struct key and value */
struct stats_key {
	gadget_mntns_id mntns_id;
	gadget_pid pid;
	__u32 __pad;
};

struct stats_value {
	__u64 count;
	gadget_comm comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct stats_key);
	__type(value, struct stats_value);
} stats SEC(".maps");

GADGET_MAPITER(stats, stats);

SEC("tracepoint/syscalls/sys_enter_getpid")
int ig_maps_tp(void *ctx)
{
	struct test_key key = { .a = 1, .b = 2, .c = 3 };
	__u32 *v = bpf_map_lookup_elem(&test_map, &key);
	struct stats_key sk = {};
	struct stats_value zero = {}, *sv;

	if (v)
		__sync_fetch_and_add(v, 1);
	sk.mntns_id = gadget_get_current_mntns_id();
	sk.pid = bpf_get_current_pid_tgid() >> 32;
	sv = bpf_map_lookup_elem(&stats, &sk);
	if (!sv) {
		bpf_map_update_elem(&stats, &sk, &zero, BPF_NOEXIST);
		sv = bpf_map_lookup_elem(&stats, &sk);
		if (!sv)
			return 0;
	}
	__sync_fetch_and_add(&sv->count, 1);
	bpf_get_current_comm(sv->comm, sizeof(sv->comm));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
