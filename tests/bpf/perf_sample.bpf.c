// SPDX-License-Identifier: Apache-2.0
// gadgetrt test object: a perf_event program (profile_cpu's kind), attached
// by gadgetrt to a software CPU-clock sampling event on every online CPU
// with the settings of `programs.sampler.*` in the config.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 target_pid = 0;

__u64 samples;
__u64 own_samples;

SEC("perf_event/sampler")
int ig_sample(struct bpf_perf_event_data *ctx)
{
	__sync_fetch_and_add(&samples, 1);
	if ((bpf_get_current_pid_tgid() >> 32) == target_pid)
		__sync_fetch_and_add(&own_samples, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
