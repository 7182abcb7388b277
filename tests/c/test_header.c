/* Standalone-header test (C): gadgetrt.h must compile on its own, with no other include
 * before it, and survive a second inclusion. Built with -std=c99 -Wall -Wextra -Wpedantic
 * -Werror -Wstrict-prototypes. */
#include "gadgetrt.h"
#include "gadgetrt.h"

#include <stdio.h>
#include <string.h>

#if !defined(GRT_ABI_VERSION) || !defined(GRT_VERSION_NUMBER)
#error "version macros missing"
#endif
#if GRT_VERSION_NUMBER != GRT_VERSION_MAJOR * 10000 + GRT_VERSION_MINOR * 100 + GRT_VERSION_PATCH
#error "GRT_VERSION_NUMBER inconsistent"
#endif

/* Every type and initialiser macro is usable from C. */
static grt_runtime_options opts = GRT_RUNTIME_OPTIONS_INIT;
static grt_gadget_stats stats = GRT_GADGET_STATS_INIT;
static grt_field_info info = GRT_FIELD_INFO_INIT;
static grt_event_fn event_fn = NULL;
static grt_log_fn log_fn = NULL;
static grt_userdata_free_fn free_fn = NULL;

int main(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", GRT_VERSION_MAJOR, GRT_VERSION_MINOR, GRT_VERSION_PATCH);
    if (strcmp(grt_version(), want) != 0) {
        fprintf(stderr, "grt_version() = %s, header says %s\n", grt_version(), want);
        return 1;
    }
    if (grt_abi_version() != GRT_ABI_VERSION) {
        fprintf(stderr, "grt_abi_version() = %u, header says %d\n", grt_abi_version(), GRT_ABI_VERSION);
        return 1;
    }
    if (opts.size != sizeof(grt_runtime_options) || stats.size != sizeof(grt_gadget_stats) ||
        info.size != sizeof(grt_field_info) || event_fn || log_fn || free_fn) {
        fprintf(stderr, "initialiser macros wrong\n");
        return 1;
    }
    printf("test_header (C): gadgetrt %s ABI %u ok\n", grt_version(), grt_abi_version());
    return 0;
}
