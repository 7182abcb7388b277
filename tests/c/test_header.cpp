// Standalone-header test (C++): gadgetrt.h must compile as C++ on its own, twice, with
// -std=c++11 -Wall -Wextra -Wpedantic -Werror -Wold-style-cast -Wzero-as-null-pointer-constant,
// and give C linkage to the functions.
#include "gadgetrt.h"
#include "gadgetrt.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_standard_layout<grt_runtime_options>::value, "options must be standard layout");
static_assert(std::is_standard_layout<grt_gadget_stats>::value, "stats must be standard layout");
static_assert(std::is_same<decltype(&grt_gadget_poll), int64_t (*)(const grt_gadget *, int32_t)>::value,
              "grt_gadget_poll signature");
static_assert(std::is_same<grt_event_fn, int32_t (*)(void *, const grt_event *)>::value, "callback shape");

extern "C" int32_t header_test_cb(void *, const grt_event *) { return 0; }

int main() {
    grt_runtime_options opts = GRT_RUNTIME_OPTIONS_INIT;
    grt_gadget_stats stats = GRT_GADGET_STATS_INIT;
    grt_field_info info = GRT_FIELD_INFO_INIT;
    grt_event_fn cb = header_test_cb;
    (void)cb;
    if (opts.size != sizeof opts || stats.size != sizeof stats || info.size != sizeof info) {
        std::fprintf(stderr, "initialiser macros wrong\n");
        return 1;
    }
    if (grt_abi_version() != GRT_ABI_VERSION) {
        std::fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    // A NULL error is tolerated by the accessors.
    if (grt_error_code(nullptr) != 0 || std::strcmp(grt_error_message(nullptr), "") != 0) {
        std::fprintf(stderr, "NULL error accessors\n");
        return 1;
    }
    std::printf("test_header (C++): gadgetrt %s ok\n", grt_version());
    return 0;
}
