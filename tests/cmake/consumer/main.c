/* Downstream C consumer: links gadgetrt::gadgetrt, creates and frees a runtime. */
#include <stdio.h>

#include "gadgetrt.h"

int main(void) {
    const grt_runtime *rt = NULL;
    grt_error *err = grt_runtime_new(NULL, &rt);
    if (err) {
        fprintf(stderr, "grt_runtime_new: %s\n", grt_error_message(err));
        grt_error_free(err);
        return 1;
    }
    grt_runtime_free(rt);
    if (grt_abi_version() != GRT_ABI_VERSION) return 1;
    printf("consumer_c: gadgetrt %s\n", grt_version());
    return 0;
}
