/*
 * Private include wrapper for the cgo preambles of this package. It includes
 * ../../include/gadgetrt.h (found through `#cgo CFLAGS: -I${SRCDIR}/../../include`) and works
 * around two problems of the current header:
 *
 * 1. The header does not compile as C or C++: the typedef `grt_gadget_stats` (the stats
 *    struct) and the function `grt_gadget_stats()` share one identifier. A function-like
 *    macro (which expands only before `(`) renames the function's declaration to
 *    gogrt_gadget_stats, bound to the real symbol with an asm label.
 * 2. The typed event getters grt_event_get_{u64,i64,f64,bool}[_by_name] are exported by
 *    the library but missing from the header (cbindgen does not expand the Rust macro that
 *    defines them); they are declared here.
 */
#ifndef GOGRT_H
#define GOGRT_H

#include <stddef.h>
#include <stdint.h>

struct grt_error;
struct grt_gadget;
struct grt_gadget_stats;
struct grt_error *gogrt_gadget_stats(const struct grt_gadget *g, struct grt_gadget_stats *out)
    __asm__("grt_gadget_stats");

#define grt_gadget_stats(...) gogrt_gadget_stats(__VA_ARGS__)
#include "gadgetrt.h"
#undef grt_gadget_stats

struct grt_error *grt_event_get_u64(const struct grt_event *e, size_t elem, size_t index, uint64_t *out);
struct grt_error *grt_event_get_u64_by_name(const struct grt_event *e, size_t elem, const char *name,
                                            size_t name_len, uint64_t *out);
struct grt_error *grt_event_get_i64(const struct grt_event *e, size_t elem, size_t index, int64_t *out);
struct grt_error *grt_event_get_i64_by_name(const struct grt_event *e, size_t elem, const char *name,
                                            size_t name_len, int64_t *out);
struct grt_error *grt_event_get_f64(const struct grt_event *e, size_t elem, size_t index, double *out);
struct grt_error *grt_event_get_f64_by_name(const struct grt_event *e, size_t elem, const char *name,
                                            size_t name_len, double *out);
struct grt_error *grt_event_get_bool(const struct grt_event *e, size_t elem, size_t index, uint8_t *out);
struct grt_error *grt_event_get_bool_by_name(const struct grt_event *e, size_t elem, const char *name,
                                             size_t name_len, uint8_t *out);

#endif
